"""Finding 4, files at rest: the sandbox database holds every account's api_secret and signature_secret, so it
and its ``-wal`` and ``-shm`` files are readable by their owner only (they were created 0644)."""

from __future__ import annotations

import os
import stat

from fbfailover.sandbox.instance import write_private
from fbfailover.sandbox.storage import Database


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_database_and_its_companions_are_0600(tmp_path):
    path = tmp_path / "sandbox.sqlite3"
    db = Database(path)
    try:
        db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        db.commit()
        files = [path, tmp_path / "sandbox.sqlite3-wal", tmp_path / "sandbox.sqlite3-shm"]
        assert all(f.exists() for f in files)
        assert [_mode(f) for f in files] == [0o600] * 3
    finally:
        db.close()


def test_an_old_world_readable_database_is_made_0600(tmp_path):
    path = tmp_path / "old.sqlite3"
    Database(path).close()
    os.chmod(path, 0o644)
    (tmp_path / "old.sqlite3-wal").write_bytes(b"")
    os.chmod(tmp_path / "old.sqlite3-wal", 0o644)
    db = Database(path)
    try:
        assert _mode(path) == 0o600 and _mode(tmp_path / "old.sqlite3-wal") == 0o600
    finally:
        db.close()


def test_the_instructors_secrets_file_is_0600_even_over_an_old_partial(tmp_path):
    target = tmp_path / "workshop-instructor.txt"
    partial = tmp_path / f".workshop-instructor.txt.{os.getpid()}.partial"
    partial.write_text("old")
    os.chmod(partial, 0o644)
    write_private(target, "VONAGE_API_SECRET=s\n")
    assert _mode(target) == 0o600 and target.read_text() == "VONAGE_API_SECRET=s\n"
