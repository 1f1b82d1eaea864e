"""SQLite persistence: accounts, applications, recipients, messages, dispatches, timers, deliveries.

Every row belongs to an account. The database runs in WAL mode with ``synchronous=NORMAL``: a commit is a
write to the log without an fsync, so a ``kill -9`` of the process loses nothing that was committed (only a
power cut could). All access happens on the server's loop thread; a lock guards the rare calls from others.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import islice
from pathlib import Path
from typing import Any

__all__ = ["Account", "State", "dumps"]

SCHEMA_VERSION = 1
_DOC_CACHE = 8192

_DDL = """
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
CREATE INDEX IF NOT EXISTS messages_dispatch ON messages (dispatch_uuid);
CREATE TABLE IF NOT EXISTS timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, due REAL NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL, dispatch_uuid TEXT, message_uuid TEXT,
    status TEXT NOT NULL, doc TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_dispatch ON deliveries (dispatch_uuid);
"""


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as UTF-8 (what JavaScript's ``JSON.stringify`` produces)."""
    return _ENCODE(value)


class Account:
    """One Vonage account: credentials and the account-level webhook URLs."""

    __slots__ = ("api_key", "api_secret", "dr_url", "id", "mo_url", "signature_secret")

    def __init__(self, row: sqlite3.Row | tuple):
        self.id, self.api_key, self.api_secret, self.signature_secret, self.mo_url, self.dr_url = tuple(row)[:6]


def _token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class State:
    """The sandbox database; ``State(":memory:")`` keeps everything in memory."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-32768")
        self._checkpointer: threading.Thread | None = None
        self._closing = threading.Event()
        if self.path != ":memory:":
            # Checkpoints fsync the database file: a helper thread runs them (the fsync releases the GIL),
            # so that the loop answering requests never waits for the disk.
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="sandbox-checkpoint", daemon=True)
            self._checkpointer.start()
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.executescript(_DDL)
        # From here on the sqlite3 module opens a transaction before the first write and ``commit()`` ends
        # it: between commits the connection holds no snapshot, so checkpoints can always finish.
        self.db.isolation_level = "DEFERRED"
        self._accounts: dict[str, Account] = {}
        self._accounts_by_id: dict[int, Account] = {}
        # Recently written dispatch and message documents: the simulation reads them back on every step.
        self._docs: dict[str, dict] = {}
        self._pending: asyncio.Future | None = None
        self.before_commit: Callable[[], None] | None = None
        self.closed = False

    # -- transactions -----------------------------------------------------------------------------
    def commit(self) -> None:
        """Make everything so far durable against a crash of the process; open the next transaction."""
        with self.lock:
            if self.closed:
                return
            if self.before_commit is not None:
                self.before_commit()
            self.db.commit()

    def commit_soon(self) -> asyncio.Future:
        """Group commit: one commit at the end of this loop iteration for everything done in it.

        Await the returned future before answering a request, so that an answer always means "saved".
        """
        if self._pending is None:
            loop = asyncio.get_running_loop()
            self._pending = loop.create_future()
            loop.call_soon(self._flush)
        return self._pending

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        try:
            self.commit()
        finally:
            if pending is not None and not pending.done():
                pending.set_result(None)

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            while not self._closing.wait(0.5):
                with suppress(sqlite3.Error):  # busy: try again next time
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def close(self) -> None:
        """Commit, checkpoint the WAL and close; safe to call twice."""
        self._closing.set()
        if self._checkpointer is not None and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(5)
        with self.lock:
            if self.closed:
                return
            self.db.commit()
            if self.path != ":memory:":
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.close()
            self.closed = True

    @contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            yield self.db

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- accounts ---------------------------------------------------------------------------------
    def primary_account(
        self, api_key: str | None = None, api_secret: str | None = None, signature_secret: str | None = None
    ) -> Account:
        """The first account, created with fresh credentials when the database is new; flags override them."""
        row = self.db.execute("SELECT * FROM accounts ORDER BY id LIMIT 1").fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO accounts (api_key, api_secret, signature_secret, created) VALUES (?, ?, ?, ?)",
                (
                    api_key or secrets.token_hex(4),
                    api_secret or _token(16),
                    signature_secret or _token(48),
                    time.time(),
                ),
            )
        else:
            updates = {"api_key": api_key, "api_secret": api_secret, "signature_secret": signature_secret}
            for column, value in updates.items():
                if value:
                    self.db.execute(f"UPDATE accounts SET {column}=? WHERE id=?", (value, row[0]))
        self._accounts.clear()
        self._accounts_by_id.clear()
        self.commit()
        return Account(self.db.execute("SELECT * FROM accounts ORDER BY id LIMIT 1").fetchone())

    def create_account(self) -> Account:
        """A further account with generated credentials (workshops)."""
        cur = self.db.execute(
            "INSERT INTO accounts (api_key, api_secret, signature_secret, created) VALUES (?, ?, ?, ?)",
            (secrets.token_hex(4), _token(16), _token(48), time.time()),
        )
        return self.account_by_id(cur.lastrowid)  # type: ignore[arg-type]

    def account_by_key(self, api_key: str) -> Account | None:
        account = self._accounts.get(api_key)
        if account is None:
            row = self.db.execute("SELECT * FROM accounts WHERE api_key=?", (api_key,)).fetchone()
            if row is None:
                return None
            account = self._accounts[api_key] = Account(row)
        return account

    def account_by_id(self, account_id: int) -> Account:
        account = self._accounts_by_id.get(account_id)
        if account is None:
            row = self.db.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
            account = self._accounts_by_id[account_id] = self.account_by_key(row[1])  # type: ignore[assignment]
        return account  # type: ignore[return-value]

    def set_account_urls(self, account: Account, mo_url: str | None, dr_url: str | None) -> Account:
        if mo_url is not None:
            self.db.execute("UPDATE accounts SET mo_url=? WHERE id=?", (mo_url, account.id))
            account.mo_url = mo_url
        if dr_url is not None:
            self.db.execute("UPDATE accounts SET dr_url=? WHERE id=?", (dr_url, account.id))
            account.dr_url = dr_url
        return account

    # -- applications -----------------------------------------------------------------------------
    def put_application(self, account_id: int, app_id: str, name: str, public_key: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO applications (id, account_id, name, public_key, doc) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name=excluded.name, public_key=excluded.public_key, "
            "doc=excluded.doc",
            (app_id, account_id, name, public_key, dumps(doc)),
        )

    def application(self, app_id: str) -> dict | None:
        row = self.db.execute(
            "SELECT id, account_id, name, public_key, doc FROM applications WHERE id=?", (app_id,)
        ).fetchone()
        return _app(row) if row else None

    def applications(self, account_id: int, offset: int, limit: int) -> tuple[int, list[dict]]:
        total = self.db.execute("SELECT COUNT(*) FROM applications WHERE account_id=?", (account_id,)).fetchone()[0]
        rows = self.db.execute(
            "SELECT id, account_id, name, public_key, doc FROM applications WHERE account_id=? "
            "ORDER BY seq LIMIT ? OFFSET ?",
            (account_id, limit, offset),
        ).fetchall()
        return total, [_app(r) for r in rows]

    def latest_application_with_inbound(self, account_id: int) -> dict | None:
        for row in self.db.execute(
            "SELECT id, account_id, name, public_key, doc FROM applications WHERE account_id=? ORDER BY seq DESC",
            (account_id,),
        ):
            app = _app(row)
            if app["inbound_url"]:
                return app
        return None

    def delete_application(self, app_id: str) -> None:
        self.db.execute("DELETE FROM applications WHERE id=?", (app_id,))

    # -- recipients -------------------------------------------------------------------------------
    def set_recipient(self, account_id: int, channel: str, ident: str, rule: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO recipients VALUES (?, ?, ?, ?)", (account_id, channel, ident, dumps(rule))
        )

    def recipient(self, account_id: int, channel: str, ident: str) -> dict | None:
        row = self.db.execute(
            "SELECT rule FROM recipients WHERE account_id=? AND channel=? AND ident IN (?, '*') "
            "ORDER BY ident = '*' LIMIT 1",
            (account_id, channel, ident),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def recipients(self, account_id: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT channel, ident, rule FROM recipients WHERE account_id=? ORDER BY channel, ident",
            (account_id,),
        )
        return [{"channel": c, "id": i, **json.loads(r)} for c, i, r in rows]

    def delete_recipients(self, account_id: int, channel: str | None = None, ident: str | None = None) -> int:
        if channel is None:
            return self.db.execute("DELETE FROM recipients WHERE account_id=?", (account_id,)).rowcount
        return self.db.execute(
            "DELETE FROM recipients WHERE account_id=? AND channel=? AND ident=?",
            (account_id, channel, ident),
        ).rowcount

    # -- dispatches and messages (documents keyed by uuid) ----------------------------------------
    def _remember(self, key: str, doc: dict) -> None:
        docs = self._docs
        docs[key] = doc
        if len(docs) > _DOC_CACHE:
            for old in list(islice(docs, _DOC_CACHE // 2)):
                del docs[old]

    def forget(self, *uuids: str) -> None:
        """Drop finished documents from the cache (fewer live objects: shorter garbage collections)."""
        for uuid in uuids:
            self._docs.pop("d" + uuid, None)
            self._docs.pop("m" + uuid, None)

    def put_dispatch(self, doc: dict) -> None:
        """Write a dispatch document; the caller owns ``doc`` and must put it again after changing it."""
        self.db.execute(
            "INSERT OR REPLACE INTO dispatches VALUES (?, ?, ?)", (doc["uuid"], doc["account_id"], dumps(doc))
        )
        self._remember("d" + doc["uuid"], doc)

    def dispatch(self, uuid: str) -> dict | None:
        doc = self._docs.get("d" + uuid)
        if doc is None:
            row = self.db.execute("SELECT doc FROM dispatches WHERE uuid=?", (uuid,)).fetchone()
            if row is None:
                return None
            doc = json.loads(row[0])
            self._remember("d" + uuid, doc)
        return doc

    def put_message(self, doc: dict) -> None:
        """Write a message document; as for dispatches, put it again after every change."""
        self.db.execute(
            "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?)",
            (doc["uuid"], doc["account_id"], doc.get("dispatch_uuid"), dumps(doc)),
        )
        self._remember("m" + doc["uuid"], doc)

    def message(self, uuid: str) -> dict | None:
        doc = self._docs.get("m" + uuid)
        if doc is None:
            row = self.db.execute("SELECT doc FROM messages WHERE uuid=?", (uuid,)).fetchone()
            if row is None:
                return None
            doc = json.loads(row[0])
            self._remember("m" + uuid, doc)
        return doc

    def messages_of(self, dispatch_uuid: str) -> list[dict]:
        rows = self.db.execute("SELECT doc FROM messages WHERE dispatch_uuid=?", (dispatch_uuid,))
        return sorted((json.loads(r[0]) for r in rows), key=lambda m: (m.get("item") or 0, m["created"]))

    # -- timers -----------------------------------------------------------------------------------
    def add_timer(self, due: float, kind: str, ref: str, data: dict | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO timers (due, kind, ref, data) VALUES (?, ?, ?, ?)",
            (due, kind, ref, dumps(data or {})),
        )
        return cur.lastrowid  # type: ignore[return-value]

    def delete_timer(self, timer_id: int) -> None:
        self.db.execute("DELETE FROM timers WHERE id=?", (timer_id,))

    def timers(self) -> list[tuple[int, float, str, str, dict]]:
        rows = self.db.execute("SELECT id, due, kind, ref, data FROM timers ORDER BY due, id").fetchall()
        return [(i, d, k, r, json.loads(x)) for i, d, k, r, x in rows]

    # -- webhook deliveries -----------------------------------------------------------------------
    def add_delivery(self, account_id: int, doc: dict, body: bytes) -> int:
        cur = self.db.execute(
            "INSERT INTO deliveries (account_id, dispatch_uuid, message_uuid, status, doc, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, doc.get("dispatch_uuid"), doc.get("message_uuid"), doc["status"], dumps(doc), body),
        )
        return cur.lastrowid  # type: ignore[return-value]

    def update_delivery(self, delivery_id: int, doc: dict) -> None:
        self.db.execute("UPDATE deliveries SET status=?, doc=? WHERE id=?", (doc["status"], dumps(doc), delivery_id))

    def delivery(self, delivery_id: int) -> tuple[dict, bytes] | None:
        row = self.db.execute("SELECT id, account_id, doc, body FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        if row is None:
            return None
        return {**json.loads(row[2]), "id": row[0], "account_id": row[1]}, row[3]

    def deliveries(
        self,
        account_id: int,
        *,
        dispatch_uuid: str | None = None,
        status: str | None = None,
        limit: int = 500,
    ) -> list[tuple[dict, bytes]]:
        sql, args = "SELECT id, doc, body FROM deliveries WHERE account_id=?", [account_id]
        if dispatch_uuid:
            sql += " AND dispatch_uuid=?"
            args.append(dispatch_uuid)
        if status:
            sql += " AND status=?"
            args.append(status)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        rows = self.db.execute(sql, args).fetchall()
        return [({**json.loads(d), "id": i}, b) for i, d, b in reversed(rows)]


def _app(row: tuple) -> dict:
    app_id, account_id, name, public_key, doc = row
    data = json.loads(doc)
    hooks = data.get("capabilities", {}).get("messages", {}).get("webhooks", {})
    return {
        "id": app_id,
        "account_id": account_id,
        "name": name,
        "public_key": public_key,
        "doc": data,
        "inbound_url": (hooks.get("inbound_url") or {}).get("address", ""),
        "status_url": (hooks.get("status_url") or {}).get("address", ""),
    }
