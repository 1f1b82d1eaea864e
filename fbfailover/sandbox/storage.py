"""The sandbox's database: one SQLite connection, one way to commit, and the start-up checks.

Everything the sandbox keeps lives in one SQLite file (WAL mode, ``synchronous=NORMAL``: a commit is a write to
the log without an fsync, so a ``kill -9`` of the process loses nothing committed; only a power cut could).
``Database`` owns the one connection and is used on the server's loop thread only. Writes go straight into the
open transaction, so every read sees them at once, and ``commit()`` is the one way they are made durable. Three
schedules call it:

* ``saved()``: a request awaits it before answering ("accepted" always means "saved"); every request served in
  the same loop iteration shares one commit at the end of that iteration (a group commit). ``saved(then=...)``
  has the commit itself call ``then`` once it worked: the answer goes out in the commit's own turn of the loop,
  where a coroutine awaiting the future resumes only in the turn after, behind everything that turn brings;
* ``changed()``: background work (timers firing, webhook attempts) asks for a commit within ``WRITE_BEHIND``
  real seconds; nobody waits for it. A crash can lose those last milliseconds: their timers fire again on restart.
* ``soon()``: background work someone is waiting to read (a webhook kept in a mailbox, which a long-poll hands
  out once committed) asks for the end of the iteration, as a request does, without a future to await.

Accounts, applications and recipient rules are in ``catalog.py``; the simulation's rows, which change many times
a second, in ``records.py``. The start-up checks (``check_database``) refuse a database
that would break the promise of a ``202`` at the first write: read-only, unwritable folder, full disk, locked,
or not a SQLite file.

One process serves one database file: ``Database`` holds an exclusive lock on ``<file>.lock`` (``flock``) for as
long as it is open, so a second sandbox on the same file is refused at start with the first one's pid, instead of
two processes numbering rows and running the same timers side by side. The operating system drops the lock when
the process ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from fbfailover.config import data_dir
from fbfailover.errors import SandboxError

__all__ = [
    "MIN_FREE_BYTES",
    "WRITE_BEHIND",
    "Database",
    "DatabaseLock",
    "SaveError",
    "StorageError",
    "check_database",
    "default_db",
    "dumps",
    "private",
]

WRITE_BEHIND = 0.02  # real seconds within which background writes are committed

log = logging.getLogger(__name__)

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
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL, route TEXT NOT NULL, query TEXT NOT NULL,
    headers TEXT NOT NULL, body BLOB NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS mailbox_account ON mailbox (account_id, id);
CREATE TABLE IF NOT EXISTS mailbox_dropped (account_id INTEGER NOT NULL, upto INTEGER NOT NULL, count INTEGER NOT NULL);
"""

# The standard library's encoder, for what orjson refuses (keys that are not strings, integers over 64 bits).
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept as UTF-8 (what JavaScript's ``JSON.stringify`` produces).

    orjson writes it about ten times faster than the standard library (every change of a message or dispatch is
    written as a whole document); the text only differs for some small floats (``1e-7`` rather than ``1e-07``).
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _ENCODE(value)


class SaveError(SandboxError):
    """Raised to the requests of a commit that failed (e.g. the disk filled up): nothing they changed was saved."""


class StorageError(SandboxError, OSError):
    """Raised when the sandbox cannot safely use its database; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"cannot use the database at {path}: {reason}")
        self.path = str(path)
        self.reason = reason


def lock_path(path: str | Path) -> Path:
    """The lock file of the database at ``path``: ``<file>.lock`` next to it."""
    target = Path(path)
    return target.with_name(target.name + ".lock")


class DatabaseLock:
    """The exclusive lock of one database file, held by the one sandbox that uses it.

    Args:
        path: the database file (its lock is ``lock_path(path)``, created 0600 when missing).

    Raises:
        StorageError: another process (or another sandbox in this one) holds the lock; the reason names its pid.
    """

    def __init__(self, path: str | Path):
        self.path = lock_path(path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError as exc:
            holder = _holder(fd)
            os.close(fd)
            raise StorageError(path, in_use(holder)) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        """Let another sandbox use the database; safe to call twice."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            _unlock(fd)
            os.close(fd)


def in_use(holder: int | None) -> str:
    """The reason a database held by process ``holder`` cannot be used."""
    who = f"the sandbox process {holder}" if holder else "another sandbox"
    return (f"{who} is using it (one sandbox per database file). The notebooks share the project's sandbox on "
            "their own; to serve this database from a terminal, stop that one first (`fbfailover sandbox --stop` "
            "for the project's), or give this one another --db")


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):
        return None
    return int(text) if text.isdigit() else None


if os.name == "nt":  # pragma: no cover - the tests run on Linux
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Database:
    """The one connection, on the server's loop thread; ``Database(":memory:")`` keeps nothing.

    Raises:
        StorageError: another sandbox uses the file (see ``DatabaseLock``).
    """

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        self._lock: DatabaseLock | None = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock = DatabaseLock(self.path)
            try:
                private(self.path)
            except OSError as exc:
                self._release()
                raise StorageError(self.path, _reason(exc)) from exc
        # The loop thread uses it; start-up and shutdown may run on the thread that owns the sandbox.
        try:
            self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error:
            self._release()
            raise
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(DDL)
        except sqlite3.Error:
            self.conn.close()
            self._release()
            raise
        # From here on the sqlite3 module opens a transaction before the first write and ``commit()`` ends it.
        self.conn.isolation_level = "DEFERRED"
        #: Called first by every commit: parts that buffer writes in memory hand them to the connection.
        self.before_commit: list[Callable[[], None]] = []
        #: Called after every commit that worked: parts that publish what is now durable.
        self.after_commit: list[Callable[[], None]] = []
        self._saved: asyncio.Future | None = None
        self._then: list[Callable[[], None]] = []  # called by the next commit that works, in its turn
        self._later: asyncio.TimerHandle | None = None
        self.closed = False

    def execute(self, sql: str, args: tuple | list = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, args)

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        self.conn.executemany(sql, rows)

    # -- the one way to commit ------------------------------------------------------------------------
    def commit(self) -> None:
        """Make every write so far durable against a crash of the process, then settle whoever awaits it.

        Raises:
            SaveError: the database could not be written (the transaction is rolled back).
        """
        waiting, self._saved = self._saved, None
        then, self._then = self._then, []
        if self._later is not None:
            self._later.cancel()
            self._later = None
        if self.closed:
            _settle(waiting, None)
            return
        try:
            for flush in self.before_commit:
                flush()
            if self.conn.in_transaction:
                self.conn.commit()
        except sqlite3.Error as exc:
            failure = SaveError(f"the database could not be written ({exc})")
            with contextlib.suppress(sqlite3.Error):
                self.conn.rollback()
            _settle(waiting, failure)
            raise failure from exc
        for publish in self.after_commit:
            publish()
        for answer in then:
            self.guarded(answer)
        _settle(waiting, None)

    def saved(self, then: Callable[[], None] | None = None) -> asyncio.Future:
        """A future resolved by the commit at the end of this loop iteration; await it before answering.

        It fails with ``SaveError`` when that commit fails, so a request never answers 202 for unsaved data.
        ``then``, when given, is called by that commit once it worked (never when it failed), before the loop
        runs anything else: a request answers in the commit's own turn instead of the turn after. A ``then`` that
        raises is logged and the others still run.
        """
        if then is not None:
            self._then.append(then)
        if self._saved is None:
            loop = asyncio.get_running_loop()
            self._saved = loop.create_future()
            loop.call_soon(self._commit_quietly)
        return self._saved

    @staticmethod
    def guarded(callback: Callable[[], None]) -> None:
        """Call ``callback`` from inside a commit: an exception is logged, never raised into the commit's caller."""
        try:
            callback()
        except Exception:  # a broken answer must not stop the commit's other answers or its waiters
            log.exception("an answer run by a commit failed")

    def soon(self) -> None:
        """Background writes someone is waiting to see (a mailbox item): commit at the end of this iteration."""
        if self._saved is None and not self.closed:
            self._saved = asyncio.get_running_loop().create_future()
            self._saved.add_done_callback(lambda done: done.exception())  # nobody awaits it: no warning
            asyncio.get_running_loop().call_soon(self._commit_quietly)

    def changed(self) -> None:
        """Background writes were made: commit within ``WRITE_BEHIND`` real seconds (nobody waits)."""
        if self._later is None and self._saved is None and not self.closed:
            self._later = asyncio.get_running_loop().call_later(WRITE_BEHIND, self._commit_quietly)

    def _commit_quietly(self) -> None:
        # The requests waiting for it got the error; background work is retried by its timers.
        with contextlib.suppress(SaveError):
            self.commit()

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Commit, copy the log into the database and close; safe to call twice."""
        if self.closed:
            return
        try:
            self.commit()
        finally:
            self.closed = True
            try:
                if self.path != ":memory:":
                    self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            finally:
                self.conn.close()
                self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def private(path: str | Path) -> None:
    """Make the database at ``path`` readable by this user only, before SQLite writes a byte to it.

    It holds every account's ``api_secret`` and ``signature_secret``. The file is created 0600 when missing (SQLite
    then creates its ``-wal`` and ``-shm`` files with the same mode), and an existing one and its companions are
    set to 0600. No umask is changed: that is the whole process's setting.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", 0o600)


def default_db() -> Path:
    """``<data dir>/sandbox.sqlite3``: data dir = ``FBFAILOVER_DATA_DIR`` or the project's ``.fbfailover``."""
    return data_dir() / "sandbox.sqlite3"


def _settle(future: asyncio.Future | None, failure: BaseException | None) -> None:
    if future is None or future.done():
        return
    if failure is None:
        future.set_result(None)
    else:
        future.set_exception(failure)


# -- start-up checks --------------------------------------------------------------------------------------
#: Below this much free space the sandbox does not start: a tutorial run writes a few hundred kilobytes.
MIN_FREE_BYTES = 16 * 1024 * 1024
_PROBE_BYTES = 256 * 1024


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return "the disk is full"
    if exc.errno in (errno.EROFS,):
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def check_database(path: str | Path, *, min_free: int = MIN_FREE_BYTES) -> None:
    """Check that the database at ``path`` can be created, read and written; ``":memory:"`` always can.

    Creates the folder when it is missing (as the sandbox would).

    Raises:
        StorageError: the folder cannot be created or written, the disk is (nearly) full, the file is
            read-only, used by another sandbox, locked by another process, or not a SQLite database.
    """
    if str(path) == ":memory:":
        return
    target = Path(path).expanduser()
    folder = target.parent.resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(target, f"cannot create the folder {folder} ({_reason(exc)})") from exc
    if target.is_dir():
        raise StorageError(target, "it is a folder, not a file")
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise StorageError(target, f"cannot inspect the folder {folder} ({_reason(exc)})") from exc
    if free < min_free:
        raise StorageError(
            target, f"the disk is full ({free // 1024} KiB free in {folder}; at least {min_free // 1024} KiB needed)"
        )
    _probe_folder(target, folder)
    _probe_lock(target)
    _probe_sqlite(target)


def _probe_lock(target: Path) -> None:
    """Refuse a database another sandbox holds (before touching it); no lock file means nobody holds it."""
    if not lock_path(target).exists():
        return
    DatabaseLock(target).release()


def _probe_folder(target: Path, folder: Path) -> None:
    """Write, flush and remove a small file next to the database (SQLite's -wal and -shm files live there)."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".sandbox-probe-")
    except OSError as exc:
        raise StorageError(target, f"the folder {folder} is not writable ({_reason(exc)})") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * _PROBE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise StorageError(target, f"writing to {folder} failed ({_reason(exc)})") from exc
    finally:
        Path(name).unlink(missing_ok=True)


def _probe_sqlite(target: Path) -> None:
    """Open the database and take the write lock, then roll back: proves writes will work, changes nothing."""
    existed = target.exists()
    if existed and not os.access(target, os.R_OK | os.W_OK):
        raise StorageError(target, "the file is read-only (permission denied)")
    try:
        if not existed:
            os.close(os.open(target, os.O_RDWR | os.O_CREAT, 0o600))  # never a moment readable by others
        conn = sqlite3.connect(str(target), timeout=1.0, isolation_level=None)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(target, f"SQLite cannot open it ({exc})") from exc
    try:
        conn.execute("PRAGMA schema_version").fetchone()  # reads the header: fails on a file of another kind
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE IF NOT EXISTS _sandbox_probe (x INTEGER)")
        conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            reason = "the file is read-only"
        elif "locked" in text or "busy" in text:
            reason = "another process holds it (one sandbox per database file)"
        elif "not a database" in text:
            reason = "it is not a SQLite database"
        elif "disk is full" in text or "full" in text:
            reason = "the disk is full"
        else:
            reason = text
        raise StorageError(target, reason) from exc
    finally:
        conn.close()
        if not existed:
            # Leave no empty file behind: the sandbox creates it again with its schema.
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(target) + suffix).unlink(missing_ok=True)
