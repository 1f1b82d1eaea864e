"""SQLite persistence: accounts here, applications and recipient rules in ``catalog``, the simulation's rows in
``records``.

Every row belongs to an account. The database runs in WAL mode with ``synchronous=NORMAL``: a commit is a
write to the log without an fsync, so a ``kill -9`` of the process loses nothing that was committed (only a
power cut could). The simulation's rows are committed by the writer thread (``writer.py``), in order: a
request's writes before it is answered (one group commit per loop iteration, awaited), those of background work
within ``WRITE_BEHIND`` seconds, in one batch. Everything else happens on the server's loop thread, on a
connection of its own; a lock guards the rare calls from others.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .catalog import Catalog
from .commits import WRITE_BEHIND, Commits, SaveError
from .records import Records
from .schema import DDL, SCHEMA_VERSION, Account, dumps
from .writer import InlineWriter, Writer

__all__ = ["SCHEMA_VERSION", "WRITE_BEHIND", "Account", "SaveError", "State", "dumps"]


CHECKPOINT_EVERY = 0.05  # real seconds between the checkpoint thread's passes
LOG_LIMIT = 256 << 20  # bytes of log after which a pass also starts the log over


def checkpoint(conn: sqlite3.Connection, page_size: int) -> None:
    """One pass of the checkpoint thread: copy the log (WAL) into the database without holding up commits.

    SQLite starts the log over only after a checkpoint copied all of it, and under writes without a pause a
    passive checkpoint never reaches its end: at full load the log grew by about 75 MB a second, without limit.
    Passes every 50 ms keep what is left to copy small; once the log holds more than ``LOG_LIMIT`` bytes a
    ``RESTART`` checkpoint waits for the current commit, holds the next one up while it copies that small rest
    and makes the next commit write the log from its start again (the file keeps its size and is reused).
    """
    with suppress(sqlite3.Error):  # busy: next time
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames * page_size > LOG_LIMIT:
            conn.execute("PRAGMA wal_checkpoint(RESTART)")


def _token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class State(Commits, Records, Catalog):
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
        self.db.executescript(DDL)
        # From here on the sqlite3 module opens a transaction before the first write and ``commit()`` ends
        # it: between commits the connection holds no snapshot, so checkpoints can always finish.
        self.db.isolation_level = "DEFERRED"
        self._accounts: dict[str, Account] = {}
        self._accounts_by_id: dict[int, Account] = {}
        self._apps: dict[str, dict] = {}
        self._rules: dict[tuple[int, str, str], dict | None] = {}
        self._init_records()
        self._writer: Writer | InlineWriter = Writer(self.path) if self.path != ":memory:" else InlineWriter(self.db)
        self._pending: asyncio.Future | None = None
        self._later_handle: asyncio.TimerHandle | None = None
        self.before_commit: Callable[[], None] | None = None
        self.closed = False

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        try:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            while not self._closing.wait(CHECKPOINT_EVERY):
                checkpoint(conn, page_size)
        finally:
            conn.close()

    def close(self) -> None:
        """Write what is queued, commit, checkpoint the WAL and close; safe to call twice."""
        self._closing.set()
        if self._checkpointer is not None and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(5)
        with self.lock:
            if self.closed:
                return
            try:
                self.commit()
            finally:
                self.closed = True
                self._writer.close()
                if self.path != ":memory:":
                    with suppress(sqlite3.Error):
                        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self.db.close()
        if self._later_handle is not None:
            with suppress(RuntimeError):  # the loop may be gone already
                self._later_handle.cancel()
            self._later_handle = None

    @contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            yield self.db

    def meta(self, key: str, default: str | None = None) -> str | None:
        queued = self._now.meta.get(key) or self._later.meta.get(key)
        if queued is not None:
            return queued
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Queued with the current batch (the clock checkpoint joins every background batch)."""
        self._queue.meta[key] = value

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
