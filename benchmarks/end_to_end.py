"""End to end: dispatches at c=8 against the standalone sandbox, every webhook to ``fbfailover receiver``.

Two processes of the project, as a learner runs them in two terminals: ``fbfailover sandbox`` (file database in a
temporary folder, the default 600x clock, a known API key, secret and signature secret) and ``fbfailover receiver``
(with the same signature secret, so every webhook's signature is verified). The benchmark creates an application
(Applications API) whose status and inbound URLs are the receiver's, mints an application JWT (RS256, a key pair
generated here) and sends the tutorial's two-item failover workflow (Messenger, then SMS) with ``POST
/v0.1/dispatch`` from 8 keep-alive connections for ``--seconds``. No recipient rule is set: by default the Messenger
message is never read, so every dispatch fails over to SMS after its 600 s expiry (1 s real) and ends with a
``completed`` final report; five webhooks per dispatch (two statuses per message and the final report).

The load client is this script in another process (``load-client`` mode), so that it shares no GIL with the
count of final reports; the count reads the receiver's stdout (one JSON line per accepted webhook), where each
final report carries its ``dispatch_uuid``. After the load the benchmark waits (up to ``--drain-timeout``) until
every accepted dispatch has its final report.

How to read it: ``e2e_dispatch_rps_c8`` is accepted (202) dispatches per second during the load, whatever the
webhooks behind them cost; ``drain_s`` is the time from the end of the load to the last final report, i.e. how far
the webhooks lag behind the API (at least the 1 s of simulated expiry); ``lost`` counts accepted dispatches whose
final report never reached the receiver (must be 0, else the exit status is 1); ``duplicates`` counts final
reports printed twice for one dispatch (the receiver already drops redeliveries it recognises, counted in
``redeliveries``); ``rejected_signatures`` counts webhooks the receiver refused (must be 0). The CPU seconds each
process used from the start of the load to the end of the drain show who the two cores worked for.

After the drain, the same load runs again in the same sandbox against an application without webhook URLs
(unless ``--no-reference``): the ratio ``e2e_vs_no_webhooks`` says what sending, signing and receiving the
webhooks costs the API.

    python benchmarks/end_to_end.py [--seconds 10] [--concurrency 8] [--drain-timeout 600]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fbfailover.config import is_setting
from fbfailover.payloads import tutorial_workflow

API_KEY = "e2ebench1"
API_SECRET = "e2ebenchsecret01"
SIGNATURE_SECRET = "e2e-benchmark-signature-secret-0123456789"
# The tutorial's dispatch (Messenger, then SMS when not read within 600 s), built as the notebooks build it.
BODY = tutorial_workflow(from_number="447700900000", to_number="447700900001", fb_sender_id="107083064136738",
                         fb_recipient_id="3951551948198164", text_messenger="Hi via Messenger", text_sms="Hi via SMS")
FINAL_REPORT_PREFIX = '{"kind": "final_report"'  # how the receiver's stdout line of a final report starts
UUID_IN_BODY = re.compile(rb'"dispatch_uuid"\s*:\s*"([0-9a-fA-F-]{36})"')


# -- the load client (runs in its own process) ---------------------------------------------------------------
async def _load(host: str, port: int, request: bytes, concurrency: int, seconds: float, count: int,
                progress_every: int) -> tuple[list[str], dict]:
    """Send ``request`` on ``concurrency`` keep-alive connections for ``seconds`` or until ``count`` are sent."""
    accepted: list[str] = []
    statuses: collections.Counter[str] = collections.Counter()
    issued = 0
    stop_at = time.perf_counter() + seconds if seconds > 0 else float("inf")

    async def worker() -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at and (count <= 0 or issued < count):
                issued += 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
                body = await reader.readexactly(length)
                status = head[9:12].decode()
                statuses[status] += 1
                if status == "202":
                    accepted.append(UUID_IN_BODY.search(body).group(1).decode())
                    if progress_every and len(accepted) % progress_every == 0:
                        print(f"progress accepted={len(accepted)}", flush=True)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    return accepted, {"accepted": len(accepted), "elapsed": elapsed, "statuses": dict(statuses),
                      "ended_at": time.time()}


def load_client_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="end_to_end.py load-client",
                                     description="send POST /v0.1/dispatch (used by the benchmarks)")
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: no limit)")
    parser.add_argument("--count", type=int, default=0, help="stop after this many requests (0: no limit)")
    parser.add_argument("--progress-every", type=int, default=0, help="print a progress line every N accepted")
    parser.add_argument("--uuids-file", required=True, help="where the accepted dispatch_uuids are written")
    args = parser.parse_args(argv)
    host, port = args.url.removeprefix("http://").rstrip("/").split(":")
    body = json.dumps(BODY, separators=(",", ":"))
    request = (f"POST /v0.1/dispatch HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer {args.token}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
    accepted, summary = asyncio.run(_load(host, int(port), request, args.concurrency, args.seconds, args.count,
                                          args.progress_every))
    Path(args.uuids_file).write_text("\n".join(accepted))
    print("done " + json.dumps(summary), flush=True)
    return 0


# -- processes -------------------------------------------------------------------------------------------------
def clean_environment(folder: Path) -> dict[str, str]:
    """No tutorial setting inherited; an empty ``.env`` and a data folder in ``folder`` (as tools/sandboxed.py)."""
    env = {k: v for k, v in os.environ.items() if not is_setting(k)}
    (folder / ".env").touch()
    env["FBFAILOVER_ENV_FILE"] = str(folder / ".env")
    env["FBFAILOVER_DATA_DIR"] = str(folder / "data")
    return env


def start_process(argv: list[str], folder: Path, name: str, pattern: str) -> tuple[subprocess.Popen, str]:
    """Start ``argv`` (stderr to ``folder/name.log``) and return it with the URL its first stdout line names."""
    with open(folder / f"{name}.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=folder, env=clean_environment(folder), stdout=subprocess.PIPE,
                                stderr=log, text=True)
    watchdog = threading.Timer(60, proc.kill)  # a server that never prints its URL must not hang the benchmark
    watchdog.start()
    try:
        line = proc.stdout.readline()
    finally:
        watchdog.cancel()
    match = re.search(pattern, line)
    if not match:
        stop_process(proc)
        log_text = (folder / f"{name}.log").read_text()[-2000:]
        raise SystemExit(f"{name} did not start: {line!r}\n{log_text}")
    return proc, match.group(1)


def stop_process(proc: subprocess.Popen) -> None:
    """Terminate, then kill after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_sandbox(folder: Path, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    return start_process(
        [sys.executable, "-m", "fbfailover", "sandbox", "--port", "0", "--db", str(folder / "sandbox.sqlite3"),
         "--api-key", API_KEY, "--api-secret", API_SECRET, "--signature-secret", SIGNATURE_SECRET, *extra],
        folder, "sandbox", r"listening on (http://\S+)")


def start_receiver(folder: Path) -> tuple[subprocess.Popen, str]:
    return start_process(
        [sys.executable, "-m", "fbfailover", "receiver", "--port", "0", "--signature-secret", SIGNATURE_SECRET],
        folder, "receiver", r"listening on (http://\S+)")


def create_application(url: str, receiver_url: str | None) -> str:
    """Create an application (webhooks to ``receiver_url``, or none) and return a JWT for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    body: dict = {"name": "benchmark", "keys": {"public_key": public}}
    if receiver_url:
        body["capabilities"] = {"messages": {"webhooks": {
            "inbound_url": {"address": f"{receiver_url}/webhooks/inbound", "http_method": "POST"},
            "status_url": {"address": f"{receiver_url}/webhooks/status", "http_method": "POST"}}}}
    created = requests.post(f"{url}/v2/applications", auth=(API_KEY, API_SECRET), json=body, timeout=30)
    created.raise_for_status()
    now = int(time.time())
    claims = {"application_id": created.json()["id"], "iat": now, "jti": str(uuid.uuid4()), "exp": now + 24 * 3600}
    return jwt.encode(claims, key, algorithm="RS256")


def run_load_client(url: str, token: str, folder: Path, *, concurrency: int, seconds: float = 0, count: int = 0,
                    progress_every: int = 0, on_progress=None) -> tuple[list[str], dict]:
    """Run the load client process; call ``on_progress(accepted)`` at each progress line."""
    uuids_file = folder / f"uuids-{time.monotonic_ns()}.txt"
    argv = [sys.executable, str(Path(__file__).resolve()), "load-client", url, token,
            "--concurrency", str(concurrency), "--seconds", str(seconds), "--count", str(count),
            "--progress-every", str(progress_every), "--uuids-file", str(uuids_file)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    summary = None
    try:
        for line in proc.stdout:
            if line.startswith("progress accepted=") and on_progress:
                on_progress(int(line.split("=", 1)[1]))
            elif line.startswith("done "):
                summary = json.loads(line[5:])
        proc.wait()
    finally:
        stop_process(proc)
    if proc.returncode != 0 or summary is None:
        raise SystemExit(f"the load client failed (exit {proc.returncode})")
    text = uuids_file.read_text()
    return (text.split("\n") if text else []), summary


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the end-to-end benchmark ---------------------------------------------------------------------------------
class FinalReports:
    """Follows the receiver's stdout: final reports by dispatch_uuid and when the last one arrived."""

    def __init__(self, stream):
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.statuses: collections.Counter[str] = collections.Counter()
        self.other_events = 0
        self.last_at = 0.0
        self.thread = threading.Thread(target=self._follow, args=(stream,), daemon=True)
        self.thread.start()

    def _follow(self, stream) -> None:
        for line in stream:
            if not line.startswith(FINAL_REPORT_PREFIX):
                self.other_events += 1
                continue
            body = json.loads(line)["body"]
            now = time.time()
            with self.lock:
                self.counts[body.get("dispatch_uuid")] += 1
                self.statuses[str(body.get("status"))] += 1
                self.last_at = now

    def missing(self, wanted: set[str]) -> set[str]:
        with self.lock:
            return {u for u in wanted if u not in self.counts}


def main() -> int:
    if sys.argv[1:2] == ["load-client"]:
        return load_client_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the load (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections sending at once (default 8)")
    parser.add_argument("--drain-timeout", type=float, default=600.0,
                        help="longest wait for the last final report after the load (default 600 s)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the second load against an application without webhook URLs")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="fbfailover-e2e-"))
    procs: list[subprocess.Popen] = []
    try:
        sandbox, url = start_sandbox(folder)
        procs.append(sandbox)
        receiver, receiver_url = start_receiver(folder)
        procs.append(receiver)
        reports = FinalReports(receiver.stdout)
        token = create_application(url, receiver_url)

        # one dispatch through the whole chain before the clock starts (and a check that it works at all)
        check = requests.post(f"{url}/v0.1/dispatch", json=BODY, headers={"Authorization": f"Bearer {token}"},
                              timeout=30)
        if check.status_code != 202:
            raise SystemExit(f"the sandbox refused the tutorial's dispatch: {check.status_code} {check.text}")
        warm = {check.json()["dispatch_uuid"]}
        deadline = time.monotonic() + 30
        while reports.missing(warm) and time.monotonic() < deadline:
            time.sleep(0.05)
        if reports.missing(warm):
            raise SystemExit(f"no final report reached the receiver within 30 s; see {folder}/receiver.log")

        print(f"cpus={os.cpu_count()} seconds={args.seconds:g} concurrency={args.concurrency} "
              f"load average before={' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in procs}
        accepted, summary = run_load_client(url, token, folder, concurrency=args.concurrency, seconds=args.seconds)
        ended_at = summary["ended_at"]
        wanted = set(accepted)
        print(f"load: {summary['accepted']} accepted in {summary['elapsed']:.2f} s, statuses {summary['statuses']}",
              flush=True)

        deadline = time.monotonic() + args.drain_timeout
        next_note = time.monotonic() + 5
        while (missing := reports.missing(wanted)) and time.monotonic() < deadline:
            if time.monotonic() >= next_note:
                print(f"  waiting: {len(missing)} final reports still due", flush=True)
                next_note += 5
            time.sleep(0.1)
        drain_s = max(0.0, reports.last_at - ended_at) if not missing else time.time() - ended_at
        cpu = {p.pid: cpu_seconds(p.pid) - cpu_before[p.pid] for p in procs}
        print(f"cpu seconds from load start to drain end ({summary['elapsed'] + drain_s:.1f} s): "
              f"sandbox {cpu[sandbox.pid]:.1f}, receiver {cpu[receiver.pid]:.1f}", flush=True)
        reference = None
        if args.reference:
            # the same load, same sandbox, an application without webhook URLs: what the webhooks cost
            bare_token = create_application(url, None)
            _, reference = run_load_client(url, bare_token, folder, concurrency=args.concurrency,
                                           seconds=args.seconds)
            print(f"reference (no webhook URLs): {reference['accepted']} accepted in {reference['elapsed']:.2f} s, "
                  f"statuses {reference['statuses']}", flush=True)
        health = requests.get(f"{receiver_url}/health", timeout=30).json()
        with reports.lock:
            duplicates = sum(n - 1 for u, n in reports.counts.items() if u in wanted and n > 1)
            final_statuses = dict(reports.statuses)
        print(f"receiver: {health['events']} events, {health['duplicates']} redeliveries, "
              f"{health['rejected']} rejected, signatures {health['signatures']}; final reports {final_statuses}")
        print(f"load average after={' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        rps = summary["accepted"] / summary["elapsed"]
        if reference:
            reference_rps = reference["accepted"] / reference["elapsed"]
            print(f"no_webhooks_rps_c{args.concurrency}={reference_rps:.0f}")
            print(f"e2e_vs_no_webhooks={rps / reference_rps:.3f}")
        print(f"e2e_dispatch_rps_c{args.concurrency}={rps:.0f}")
        print(f"accepted={len(accepted)}")
        print(f"lost={len(missing)}")
        print(f"duplicates={duplicates}")
        print(f"redeliveries={health['duplicates']}")
        print(f"rejected_signatures={health['rejected']}")
        print(f"drain_s={drain_s:.2f}")
        return 1 if missing or health["rejected"] else 0
    finally:
        for proc in reversed(procs):
            stop_process(proc)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
