"""Start-up checks of the sandbox database: refuse to start rather than lose what it is told later.

A sandbox that answers ``202`` promises that the dispatch is saved. A database that is read-only, in a folder
that cannot be written (SQLite needs to create ``-wal`` and ``-shm`` files next to it), on a full disk, or that
is not a SQLite file at all would break that promise at the first write, so these cases are found before the
server listens: ``check_database`` tries a real write transaction and a real file write next to the database.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from fbfailover.errors import SandboxError

__all__ = ["MIN_FREE_BYTES", "StorageError", "check_database"]

#: Below this much free space the sandbox does not start: a tutorial run writes a few hundred kilobytes.
MIN_FREE_BYTES = 16 * 1024 * 1024
_PROBE_BYTES = 256 * 1024


class StorageError(SandboxError, OSError):
    """Raised when the sandbox cannot safely use its database; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"cannot use the database at {path}: {reason}")
        self.path = str(path)
        self.reason = reason


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
            read-only, locked by another process, or not a SQLite database.
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
    _probe_sqlite(target)


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
        conn = sqlite3.connect(str(target), timeout=1.0, isolation_level=None)
    except sqlite3.Error as exc:
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
