"""The sandbox database's tables, its JSON encoding and the account row."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from typing import Any

__all__ = ["DDL", "SCHEMA_VERSION", "Account", "dumps", "new_uuid"]

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY, api_key TEXT UNIQUE NOT NULL, api_secret TEXT NOT NULL,
    signature_secret TEXT NOT NULL, mo_url TEXT NOT NULL DEFAULT '', dr_url TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, account_id INTEGER NOT NULL,
    name TEXT NOT NULL, public_key TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS applications_account ON applications (account_id, seq);
CREATE TABLE IF NOT EXISTS recipients (
    account_id INTEGER NOT NULL, channel TEXT NOT NULL, ident TEXT NOT NULL, rule TEXT NOT NULL,
    PRIMARY KEY (account_id, channel, ident));
CREATE TABLE IF NOT EXISTS dispatches (
    uuid TEXT PRIMARY KEY, account_id INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    uuid TEXT PRIMARY KEY, account_id INTEGER NOT NULL, dispatch_uuid TEXT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, due REAL NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL, dispatch_uuid TEXT, message_uuid TEXT,
    status TEXT NOT NULL, doc TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_dispatch ON deliveries (dispatch_uuid);
"""

# Documents are built by the sandbox itself and never hold cycles: the circular check would cost a fifth.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as UTF-8 (what JavaScript's ``JSON.stringify`` produces)."""
    return _ENCODE(value)


_random = b""
_random_lock = threading.Lock()


def _forget_random() -> None:
    global _random
    _random = b""  # a forked child must not reuse its parent's bytes


os.register_at_fork(after_in_child=_forget_random)


def new_uuid() -> str:
    """A random (version 4) UUID as text, like ``str(uuid.uuid4())``; the OS's random bytes are read 4 KiB at a
    time (one system call per 256 UUIDs instead of one each)."""
    global _random
    with _random_lock:
        if not _random:
            _random = os.urandom(4096)
        raw, _random = _random[:16], _random[16:]
    return str(uuid.UUID(bytes=raw, version=4))


class Account:
    """One Vonage account: credentials and the account-level webhook URLs."""

    __slots__ = ("api_key", "api_secret", "dr_url", "id", "mo_url", "signature_secret")

    def __init__(self, row: sqlite3.Row | tuple):
        self.id, self.api_key, self.api_secret, self.signature_secret, self.mo_url, self.dr_url = tuple(row)[:6]
