"""``tools/hostile.py`` runs briefly (small counts) and prints its one line: no 5xx from either server, no forged
item accepted, and each growth (receiver RSS, sandbox RSS, database) within the bound the servers' caps allow. The
receiver's deliberate 503 to an unsigned webhook (so that Vonage resends it signed) is counted apart on the line,
and the run must have drawn some, or the tool did not throw what it says."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZE = r"([\d.?]+)→([\d.?]+) MB \(bound ([\d.?]+)\)"
LINE = re.compile(r"(\d+) requests in ([\d.]+) s, (\d+) \u00d7 5xx \(\+(\d+) \u00d7 503 asking for an unsigned webhook "
                  rf"to be resent signed\), (\d+) forged items accepted, receiver RSS {SIZE}, sandbox RSS {SIZE}, "
                  rf"database {SIZE}")
MB = 1e6


def _hostile():
    spec = importlib.util.spec_from_file_location("hostile", ROOT / "tools" / "hostile.py")
    hostile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hostile)
    return hostile


def test_a_brief_hostile_run_prints_one_line_with_no_5xx_and_growth_within_bounds():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "hostile.py"), "--scale", "0.15", "--budget", "6"],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    found = LINE.fullmatch(lines[0])
    assert found, lines[0]
    assert int(found.group(1)) >= 50, lines[0]
    assert (found.group(3), found.group(5)) == ("0", "0"), lines[0] + "\n" + done.stderr  # no 5xx, nothing forged
    assert int(found.group(4)) > 0, lines[0]  # the unsigned webhooks were sent and asked to be resent signed
    for first in (6, 9, 12):  # receiver RSS, sandbox RSS, database: each measured ("?" fails), after <= bound
        _, after, bound = (float(found.group(first + i)) for i in range(3))
        assert after <= bound, lines[0] + "\n" + done.stderr
    assert done.returncode == 0, done.stderr


def test_the_line_shows_real_numbers_and_can_say_what_went_wrong():
    hostile = _hostile()
    line = hostile.summary_line(1234, 14.96, 3, 7, (44e6, 487e6), (55e6, None), (0.2e6, 109.4e6), 12,
                                (50e6, 60e6, 5e6))
    assert line == ("1234 requests in 15.0 s, 3 \u00d7 5xx (+12 \u00d7 503 asking for an unsigned webhook to be "
                    "resent signed), 7 forged items accepted, receiver RSS 44.0→487.0 MB (bound 94.0), "
                    "sandbox RSS 55.0→? MB (bound 115.0), database 0.2→109.4 MB (bound 5.2)")
    assert LINE.fullmatch(line)


def test_the_growth_check_fails_past_a_bound_and_passes_within_it():
    hostile = _hostile()
    # The numbers: 10 unsigned 20 MB posts took the receiver from 44 to 487 MB; 100 mailbox posts added
    # 109 MB to the database. With this run's reads, each is far past its bound.
    reads = [hostile.read_size({"data": b"x" * (20 * 1024 * 1024)}, hostile.DISCARD_LIMIT * hostile.MAX_BODY,
                               hostile.MAX_HEADERS)] * 10
    growth = hostile.bounds(reads, reads, at_once=10, accounts=40, forged=0)
    assert all(bound > 0 for bound in growth)
    sizes = {"receiver RSS": (44 * MB, 487 * MB), "sandbox RSS": (55 * MB, 56 * MB), "database": (0.2 * MB, 109.4 * MB)}
    over = hostile.over_bounds(sizes, growth)
    assert [problem.split(" grew")[0] for problem in over] == ["the receiver RSS", "the database"], over
    assert hostile.over_bounds({name: (a, a + 1) for name, (a, _) in sizes.items()}, growth) == []
    # exactly at the bound passes, one byte past fails; a size that could not be read never passes
    at = {name: (0, bound) for name, bound in zip(sizes, growth, strict=True)}
    assert hostile.over_bounds(at, growth) == []
    past = {name: (0, bound + 1) for name, bound in zip(sizes, growth, strict=True)}
    assert len(hostile.over_bounds(past, growth)) == 3
    assert hostile.over_bounds({**at, "database": (None, 1)}, growth) == ["the database could not be measured"]


def test_the_bounds_come_from_the_servers_caps():
    hostile = _hostile()
    huge = {"data": b"x" * (8 * 1024 * 1024), "headers": {"X-Pad": "x" * (4 * 1024 * 1024)}}
    # a read is never more than the server's body and header limits, whatever was sent
    assert hostile.read_size(huge, hostile.DISCARD_LIMIT * hostile.MAX_BODY, hostile.MAX_HEADERS) == \
        hostile.DISCARD_LIMIT * hostile.MAX_BODY + hostile.MAX_HEADERS
    assert max(hostile.BODY_LIMITS.values()) + 64 * 1024 == hostile.SANDBOX_BODY_READ
    # more accounts or forged items allow more growth; the margins are what is left with nothing sent
    empty = hostile.bounds([], [], at_once=0, accounts=0, forged=0)
    assert empty == (hostile.RSS_MARGIN, hostile.RSS_MARGIN, hostile.DB_MARGIN)
    more = hostile.bounds([], [], at_once=0, accounts=10, forged=1)
    assert all(b > a for a, b in zip(empty, more, strict=True))
