"""Run a command with the tutorial pointed at a temporary folder and no inherited settings.

Usage: ``python tools/sandboxed.py COMMAND [ARG ...]``. The command sees a fresh ``FBFAILOVER_ENV_FILE``
and ``FBFAILOVER_DATA_DIR`` in a temporary folder (removed afterwards) and none of the caller's settings
(every name ``fbfailover.config`` reads). So the notebooks run against the offline
sandbox from a clean start, and the project's own ``.env`` and ``private.key`` are never read or written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fbfailover.config import is_setting
from fbfailover.sandbox.instance import stop_project_sandbox


def clean_environment(folder: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Return a copy of the environment without tutorial settings, pointed at ``folder``."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if not is_setting(k)}
    env["FBFAILOVER_ENV_FILE"] = str(folder / ".env")
    env["FBFAILOVER_DATA_DIR"] = str(folder / "data")
    return env


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="fbfailover-") as folder:
        env = clean_environment(Path(folder))
        try:
            return subprocess.call(argv, env=env)
        finally:  # the notebooks' kernels started the project's sandbox in this folder: end it with the run
            stop_project_sandbox(env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
