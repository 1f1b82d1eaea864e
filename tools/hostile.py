"""Throw hostile input at a live-mode receiver and a workshop sandbox on loopback, then print one line.

    .venv/bin/python tools/hostile.py [--scale 1.0] [--budget 15]

Starts ``fbfailover receiver`` (as live mode starts it, with a signature secret and the account's credentials)
and ``fbfailover sandbox --workshop`` in processes of their own on 127.0.0.1 (ports from the OS, files in a temporary
folder), and throws at them, bounded in count (``--scale`` multiplies every count) and in time (``--budget`` real
seconds in all):

* forged and unsigned bodies: a Messages-format Messenger body to the receiver's SMS route, bodies with a forged
  JWT or ``sig`` on every route, inbound SMS posted straight into an attendee's sandbox mailbox;
* oversized bodies (2 MB, past the server's limit) and headers (64 KB, 2 MB);
* cursor extremes (``after``/``page`` past 2^63, a 5,000-digit cursor, ``wait=nan``/``inf``/``-1``);
* a long-poll flood (more than the caps, per account and in all) and an account flood (past ``--max-accounts``);
* half-open connections (a request line and headers, never the body) held while the rest goes on.

Then it counts, from the servers' own answers: requests made, answers of 500 or more, forged items accepted (events
in the receiver's log and items in the attendee's mailbox stream, all of which were forged), each process's RSS
and the sandbox database's size before and after, and prints ONE line::

    N requests in T s, 0 \u00d7 5xx (+K \u00d7 503 asking for an unsigned webhook to be resent signed), 0 forged items
    accepted, receiver RSS a→b MB (bound B1), sandbox RSS c→d MB (bound B2), database e→f MB (bound B3)

Each bound is what the servers' configured caps let this run's requests add, plus a stated margin (``Bounds``):

* RSS: the bytes the requests could hold at once (the ``at_once`` largest reads, each read capped by the server's
  limits, the receiver's ``MAX_BODY`` and ``MAX_HEADERS``, the sandbox's ``BODY_LIMITS`` and ``SERVER_LIMITS``, held
  ``COPIES`` times, and ``CONNECTION_BYTES`` per open connection), what the caps let the servers keep from them
  (the forged items accepted, each at most a body limit; ``ACCOUNT_BYTES`` per account the account flood could
  create, at most ``--max-accounts``), and ``RSS_MARGIN`` for the interpreter's own growth;
* database: ``DB_ACCOUNT_BYTES`` per account created, every forged mailbox item at ``MAX_ITEM_BYTES``, and
  ``DB_MARGIN`` for SQLite's log, which grows to its automatic checkpoint before it starts over.

Before the fixes, 10 unsigned 20 MB posts took the receiver from 44 to 487 MB and 100 mailbox posts added 109 MB to
the database: each is far past its bound.

The receiver answers an unsigned Messages or Dispatch webhook ``UNSIGNED_STATUS`` (503) on purpose, so that Vonage
retries it signed (``fbfailover/webhooks/intake.py``): such an answer, to a webhook this tool sent with neither
``Authorization`` nor ``sig``, is counted apart (K) and is not a failure; every other 5xx is.
The exit status is 1 when any other answer was a 5xx, any forged item was accepted or any growth passed its bound.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from fbfailover.sandbox.http import BODY_LIMITS, SERVER_LIMITS
from fbfailover.sandbox.mailbox import MAX_ITEM_BYTES
from fbfailover.webhooks.app import DISCARD_LIMIT, MAX_BODY, MAX_HEADERS
from fbfailover.webhooks.intake import UNSIGNED_STATUS

ROOT = Path(__file__).resolve().parents[1]
JOIN = "hostile-join-token"
KEY, SECRET, SIGNATURE = "a1b2c3d4", "hostile-api-secret-1", "hostile-signature-secret-0123456789abcdef"
MESSENGER = (b'{"channel": "messenger", "message_type": "text", "message_uuid": "00000000-0000-4000-8000-000000000001",'
             b' "to": "107083064136738", "from": "999\\rVONAGE_API_URL=http://attacker/\\r", "text": "hi",'
             b' "timestamp": "2026-01-01T00:00:00Z"}')
SMS_FORM = (b"msisdn=447700900001&to=447700900000&messageId=0A0000001&text=hi&type=text"
            b"&message-timestamp=2026-01-01+00%3A00%3A00&sig=00000000000000000000000000000000&timestamp=1")
STATUS = b'{"message_uuid": "m-1", "status": "delivered", "timestamp": "2026-01-01T00:00:00Z", "channel": "sms"}'
FORGED_JWT = "Bearer " + ".".join(base64.urlsafe_b64encode(part).decode().rstrip("=") for part in (
    b'{"alg":"HS256","typ":"JWT"}', b'{"iat":1767225600,"jti":"x","payload_hash":"00"}', b"not-a-signature"))


#: Each byte a server reads may be held twice at once (the stream's buffer, then the body or headers made of it).
COPIES = 2
#: Per connection open at once: tornado's read buffer (one read of 64 KiB) and the connection's own objects.
CONNECTION_BYTES = 80 * 1024
#: Per account the account flood creates: its ``Account``, its dashboard record, its long-poll bookkeeping.
ACCOUNT_BYTES = 16 * 1024
#: The interpreter's own growth during a run whatever the input (threads, caches, allocator arenas it keeps).
RSS_MARGIN = 16 * 1024 * 1024
#: An account's row in the database with its index entries, at most (one page of SQLite's).
DB_ACCOUNT_BYTES = 4096
#: SQLite's log (WAL) grows to its automatic checkpoint (1,000 pages of 4 KiB) before it starts over, plus 1 MiB.
DB_MARGIN = 1000 * 4096 + 1024 * 1024
#: The sandbox's largest read of a body: the largest route limit and the one 64 KiB read that passes it.
SANDBOX_BODY_READ = max(BODY_LIMITS.values()) + 64 * 1024


def in_flight(reads: list[int], at_once: int) -> int:
    """The most bytes requests of ``reads`` sizes (each already capped) can hold when ``at_once`` are open."""
    return COPIES * sum(sorted(reads, reverse=True)[:at_once]) + CONNECTION_BYTES * min(at_once, len(reads))


def read_size(kwargs: dict, body_cap: int, header_cap: int) -> int:
    """What a server reads of one request at most: its body and header block, each capped by the server's limits."""
    body = kwargs.get("data", b"")
    headers = 512 + sum(len(k) + len(v) + 4 for k, v in kwargs.get("headers", {}).items())  # + line, defaults
    return min(len(body) if isinstance(body, bytes) else 0, body_cap) + min(headers, header_cap)


def bounds(receiver_reads: list[int], sandbox_reads: list[int], at_once: int, accounts: int,
           forged: int) -> tuple[float, float, float]:
    """The growth each of receiver RSS, sandbox RSS and database may show, in bytes (see the module docstring)."""
    kept = forged * max(MAX_BODY, MAX_ITEM_BYTES)
    return (in_flight(receiver_reads, at_once) + kept + RSS_MARGIN,
            in_flight(sandbox_reads, at_once) + kept + accounts * ACCOUNT_BYTES + RSS_MARGIN,
            accounts * DB_ACCOUNT_BYTES + forged * MAX_ITEM_BYTES + DB_MARGIN)


def over_bounds(sizes: dict[str, tuple], growth_bounds: tuple[float, float, float]) -> list[str]:
    """What grew past its bound (``sizes``: receiver RSS, sandbox RSS, database, each ``(before, after)``).

    A size that could not be read counts as over: a bound that cannot be checked does not pass.
    """
    over = []
    for (name, (before, after)), bound in zip(sizes.items(), growth_bounds, strict=True):
        if before is None or after is None:
            over.append(f"the {name} could not be measured")
        elif after - before > bound:
            over.append(f"the {name} grew by {(after - before) / 1e6:.1f} MB, past its bound of {bound / 1e6:.1f} MB")
    return over


def summary_line(requests_made: int, seconds: float, server_errors: int, forged: int, receiver_rss: tuple,
                 sandbox_rss: tuple, database: tuple, resend_asked: int = 0,
                 growth_bounds: tuple[float, float, float] = (0, 0, 0)) -> str:
    """The one line this tool prints (sizes in MB; ``None`` where a size could not be read). Each bound is the
    size before plus the growth allowed."""
    def mb(pair: tuple, growth: float) -> str:
        limit = "?" if pair[0] is None else f"{(pair[0] + growth) / 1e6:.1f}"
        return "→".join("?" if v is None else f"{v / 1e6:.1f}" for v in pair) + f" MB (bound {limit})"
    return (f"{requests_made} requests in {seconds:.1f} s, {server_errors} \u00d7 5xx (+{resend_asked} \u00d7 "
            f"{UNSIGNED_STATUS} asking for an unsigned webhook to be resent signed), {forged} forged items accepted, "
            f"receiver RSS {mb(receiver_rss, growth_bounds[0])}, sandbox RSS {mb(sandbox_rss, growth_bounds[1])}, "
            f"database {mb(database, growth_bounds[2])}")


def unsigned_webhook(method: str, url: str, receiver: str, kwargs: dict) -> bool:
    """Whether a request is a webhook to the receiver with neither a JWT nor an SMS ``sig``."""
    if method != "POST" or not receiver or not url.startswith(receiver + "/webhooks/"):
        return False
    headers = {k.lower() for k in kwargs.get("headers", {})}
    body = kwargs.get("data", b"")
    return "authorization" not in headers and b"sig=" not in (body if isinstance(body, bytes) else b"")


def rss(pid: int) -> int | None:
    """Resident set size of a process in bytes (Linux ``/proc``), or None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


class Target:
    """A server process started for the run; its first stdout line names its URL."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], folder: Path, pattern: str):
        self.name = name
        self.log = folder / f"{name}.out"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "fbfailover", *args], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=folder)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"hostile: the {name} did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Tally:
    """Every answer counted by status; a connection the server closed counts as ``closed`` (never a 5xx).

    Each 5xx is also kept by server, status, route and title, for the lines on stderr that say where they came from.
    """

    def __init__(self, servers: dict[str, str] | None = None) -> None:
        self.codes: Counter[str] = Counter()
        self.errors: Counter[tuple[str, int, str, str]] = Counter()
        self.servers = servers or {}
        self.lock = threading.Lock()

    def call(self, method: str, url: str, **kwargs) -> requests.Response | None:
        kwargs.setdefault("timeout", 30)
        try:
            answer = requests.request(method, url, **kwargs)
        except requests.RequestException:
            with self.lock:
                self.codes["closed"] += 1
            return None
        with self.lock:
            if (answer.status_code == UNSIGNED_STATUS
                    and unsigned_webhook(method, url, self.servers.get("receiver", ""), kwargs)):
                self.codes["resend asked"] += 1
                return answer
            self.codes[str(answer.status_code)] += 1
            if answer.status_code >= 500:
                server = next((name for name, base in self.servers.items() if url.startswith(base)), "?")
                try:
                    title = str(answer.json().get("title", ""))
                except ValueError:
                    title = answer.text[:60]
                route = url.split("//", 1)[-1].partition("/")[2].split("?")[0]
                self.errors[(server, answer.status_code, "/" + route, title)] += 1
        return answer

    @property
    def total(self) -> int:
        return sum(self.codes.values())

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code.isdigit() and int(code) >= 500)


def _half_open(url: str, count: int, hold: threading.Event) -> list[socket.socket]:
    """Connections that send a request line and headers, then nothing: held until ``hold`` is set."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    held = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"POST /webhooks/status HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                         b"Content-Type: application/json\r\n\r\n{")
            held.append(sock)
    return held


def run(scale: float, budget: float) -> tuple[str, bool]:
    def n(count: int) -> int:
        return max(1, int(count * scale))

    started = time.monotonic()
    deadline = started + budget
    with tempfile.TemporaryDirectory(prefix="fbfailover-hostile-") as tmp:
        folder = Path(tmp)
        (folder / ".env").write_text("")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "FBFAILOVER_DATA_DIR": str(folder),
               "FBFAILOVER_ENV_FILE": str(folder / ".env"), "VONAGE_API_KEY": KEY, "VONAGE_API_SECRET": SECRET,
               "VONAGE_SIGNATURE_SECRET": SIGNATURE}
        db = folder / "room.sqlite3"
        receiver = Target("receiver", ["receiver", "--port", "0"], env, folder, r"listening on (http://\S+)")
        try:
            sandbox = Target("sandbox", ["sandbox", "--port", "0", "--workshop", "--workshop-token", JOIN,
                                         "--db", str(db), "--max-accounts", str(n(40))], env, folder,
                             r"listening on (http://\S+)")
        except SystemExit:
            receiver.stop()
            raise
        tally = Tally({"receiver": receiver.url, "sandbox": sandbox.url})
        hold = threading.Event()
        held: list[socket.socket] = []
        try:
            joined = requests.post(f"{sandbox.url}/_sandbox/accounts", headers={"X-Workshop-Token": JOIN}, timeout=30)
            joined.raise_for_status()
            attendee = (joined.json()["api_key"], joined.json()["api_secret"])
            before = (rss(receiver.proc.pid), rss(sandbox.proc.pid), db_size(db))
            held = _half_open(receiver.url, n(70), hold) + _half_open(sandbox.url, n(70), hold)
            r, s = receiver.url, sandbox.url
            mailbox = f"{s}/_sandbox/mailbox/{attendee[0]}"
            throws: list[tuple] = []
            for route, body, headers in (
                ("/webhooks/inbound-sms", MESSENGER, {"Content-Type": "application/json"}),
                ("/webhooks/inbound-sms", SMS_FORM, {"Content-Type": "application/x-www-form-urlencoded"}),
                ("/webhooks/inbound", MESSENGER, {"Content-Type": "application/json", "Authorization": FORGED_JWT}),
                ("/webhooks/status", STATUS, {"Content-Type": "application/json", "Authorization": FORGED_JWT}),
                ("/webhooks/status", STATUS, {"Content-Type": "application/json"}),
                ("/webhooks/delivery-receipt", SMS_FORM, {"Content-Type": "application/x-www-form-urlencoded"}),
            ):
                throws += [("POST", r + route, {"data": body, "headers": headers})] * n(20)
                throws += [("POST", mailbox + route, {"data": body, "headers": headers})] * n(10)
            big = b"{" + b"x" * (2 * 1024 * 1024) + b"}"
            for url in (r + "/webhooks/status", mailbox + "/webhooks/status", f"{s}/v0.1/dispatch"):
                throws += [("POST", url, {"data": big, "headers": {"Content-Type": "application/json"}})] * n(5)
                throws += [("POST", url, {"data": STATUS, "headers": {"X-Pad": "x" * size}}) for size in
                           (64 * 1024, 2 * 1024 * 1024)]
            for value in (str(2**63), str(2**64), "9" * 5000, "-1", "nan", "1e308"):
                throws.append(("GET", f"{r}/_fbfailover/events", {"params": {"after": value}, "auth": (KEY, SECRET)}))
                throws.append(("GET", f"{s}/_sandbox/events", {"params": {"after": value}, "auth": attendee}))
                throws.append(("GET", f"{s}/v2/applications", {"params": {"page": value}, "auth": attendee}))
            for value in ("nan", "inf", "-1", "1e308", "26"):
                throws.append(("GET", f"{r}/_fbfailover/events", {"params": {"wait": value}, "auth": (KEY, SECRET)}))
                throws.append(("GET", f"{s}/_sandbox/events", {"params": {"wait": value}, "auth": attendee}))
            polls = [("GET", f"{r}/_fbfailover/events", {"params": {"wait": "2"}, "auth": (KEY, SECRET)})] * n(80)
            polls += [("GET", f"{s}/_sandbox/events", {"params": {"wait": "2"}, "auth": attendee})] * n(40)
            accounts = [("POST", f"{s}/_sandbox/accounts", {"headers": {"X-Workshop-Token": JOIN}})] * n(60)
            workers = min(160, n(80) + n(40) + 8)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                waiting = [pool.submit(tally.call, m, u, **kw) for m, u, kw in polls]
                for method, url, kwargs in throws + accounts:
                    if time.monotonic() > deadline:
                        break
                    pool.submit(tally.call, method, url, **kwargs)
                for future in waiting:
                    future.result()
            # Still serving after all of it, with the half-open connections still held.
            alive = [tally.call("GET", f"{r}/health", timeout=10), tally.call("GET", f"{s}/v0.1/dispatch/ping",
                                                                                 timeout=10)]
            forged = 0
            for server, page in (
                ("receiver", tally.call("GET", f"{r}/_fbfailover/events", auth=(KEY, SECRET), params={"limit": "500"})),
                ("sandbox", tally.call("GET", f"{s}/_sandbox/events", auth=attendee)),
            ):
                accepted = page.json()["events"] if page is not None and page.status_code == 200 else []
                forged += len(accepted)
                for path, count in Counter(item["path"] for item in accepted).items():
                    print(f"hostile: the {server} accepted {count} forged item(s) at {path}", file=sys.stderr)
            after = (rss(receiver.proc.pid), rss(sandbox.proc.pid), db_size(db))
            sent = polls + throws + accounts
            receiver_reads = [read_size(kw, DISCARD_LIMIT * MAX_BODY, MAX_HEADERS) for _, url, kw in sent
                              if url.startswith(r)] + [512] * n(70)
            sandbox_reads = [read_size(kw, SANDBOX_BODY_READ, SERVER_LIMITS["max_header_size"])
                             for _, url, kw in sent if url.startswith(s)] + [512] * n(70)
            growth = bounds(receiver_reads, sandbox_reads, workers + 2 * n(70), n(40), forged)
        finally:
            hold.set()
            for sock in held:
                with contextlib.suppress(OSError):
                    sock.close()
            receiver.stop()
            sandbox.stop()
        for (server, status, route, title), count in sorted(tally.errors.items()):
            print(f"hostile: the {server} answered {status} {title!r} {count} time(s) at {route}", file=sys.stderr)
        broken = any(a is None or a.status_code != 200 for a in alive)
        sizes = {"receiver RSS": (before[0], after[0]), "sandbox RSS": (before[1], after[1]),
                 "database": (before[2], after[2])}
        over = over_bounds(sizes, growth)
        for problem in over:
            print(f"hostile: {problem}", file=sys.stderr)
        line = summary_line(tally.total, time.monotonic() - started, tally.server_errors + (1 if broken else 0),
                            forged, *sizes.values(), tally.codes["resend asked"], growth)
        return line, tally.server_errors == 0 and forged == 0 and not broken and not over


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count (default 1)")
    parser.add_argument("--budget", type=float, default=15.0, help="real seconds for the throws (default 15)")
    args = parser.parse_args(argv)
    line, clean = run(args.scale, args.budget)
    print(line, flush=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
