"""``tools/hostile.py`` runs briefly (small counts) and prints its one line: no 5xx from either server and no forged
item accepted. The receiver's deliberate 503 to an unsigned webhook (so that Vonage resends it signed) is counted
apart on the line, and the run must have drawn some, or the tool did not throw what it says."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"(\d+) requests in ([\d.]+) s, (\d+) \u00d7 5xx \(\+(\d+) \u00d7 503 asking for an unsigned webhook "
                  r"to be resent signed\), (\d+) forged items accepted, "
                  r"receiver RSS ([\d.?]+)→([\d.?]+) MB, sandbox RSS ([\d.?]+)→([\d.?]+) MB, "
                  r"database ([\d.?]+)→([\d.?]+) MB")


def test_a_brief_hostile_run_prints_one_line_with_no_5xx():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "hostile.py"), "--scale", "0.15", "--budget", "6"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    found = LINE.fullmatch(lines[0])
    assert found, lines[0]
    assert int(found.group(1)) >= 50, lines[0]
    assert (found.group(3), found.group(5)) == ("0", "0"), lines[0] + "\n" + done.stderr  # no 5xx, nothing forged
    assert int(found.group(4)) > 0, lines[0]  # the unsigned webhooks were sent and asked to be resent signed
    assert done.returncode == 0, done.stderr

def test_the_line_shows_real_numbers_and_can_say_what_went_wrong():
    spec = importlib.util.spec_from_file_location("hostile", ROOT / "tools" / "hostile.py")
    hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostile)
    line = hostile.summary_line(1234, 14.96, 3, 7, (44e6, 487e6), (55e6, None), (0.2e6, 109.4e6), 12)
    assert line == ("1234 requests in 15.0 s, 3 \u00d7 5xx (+12 \u00d7 503 asking for an unsigned webhook to be "
                    "resent signed), 7 forged items accepted, receiver RSS 44.0→487.0 MB, "
                    "sandbox RSS 55.0→? MB, database 0.2→109.4 MB")
    assert LINE.fullmatch(line)
