"""Load benchmark of the sandbox's real path: accepted ``POST /v0.1/dispatch`` per second and latency, with every
status webhook and final report really sent.

Side by side in one run, each server in a process of its own and measured the same way (``wrk`` with a Lua
script when it is installed, else a Python keep-alive client in its own process), at concurrency 1, 8 and 32,
with the same valid JWT and the tutorial's body:

* the standalone sandbox (file database, default clock: 600 simulated seconds per real second, so every dispatch
  also runs its failover in the background). With ``--webhooks sink`` (the default) the application's status URL
  points at a local sink process that answers 200 at once (``sink.py``): each dispatch sends five webhooks
  (Messenger ``submitted``/``delivered``, SMS ``submitted``/``delivered``, the final report), signed, over HTTP.
  With ``--webhooks none`` the application has no webhook URLs and nothing is sent (what this benchmark measured
  before: an API that sends nothing);
* a bare tornado handler answering 202 (the ceiling of one tornado process on this machine);
* Prism 5 (``@stoplight/prism-cli``, a static mock that validates the request against the sandbox's own OpenAPI
  description and sends nothing), when it is installed in ``benchmarks/prism`` (``make bench`` installs it there
  from the lockfile; ``--prism off`` skips it).

After each sandbox measurement the benchmark waits until the sink has received every webhook of every accepted
dispatch (so a backlog never spills into the next measurement) and counts what was lost. The machine's load
average is printed before and after, since other work on the machine changes the numbers: compare within a run.

    python -m benchmarks.sandbox_load [--duration 10] [--webhooks sink|none] [--prism auto|on|off]
                                      [--client auto|wrk|python] [--clock real|manual] [--vary-body]

Lines to read: ``dispatch_rps_c8_webhooks=``, ``dispatch_p99_ms_c8_webhooks=``, ``dispatch_p99_ms_c32_webhooks=``,
``vs_bare_c8_webhooks=``, ``vs_prism_c8_webhooks=`` (without ``_webhooks`` for ``--webhooks none``),
``webhooks_lost=``; the last line repeats them all on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

try:
    from benchmarks import end_to_end as e2e
except ImportError:  # run as a script: this folder is on the path
    import end_to_end as e2e

HERE = Path(__file__).resolve().parent
PRISM = HERE / "prism" / "node_modules" / ".bin" / "prism"
WEBHOOKS_PER_DISPATCH = 5  # Messenger submitted + delivered, SMS submitted + delivered, the final report
BODY = e2e.BODY  # the tutorial's dispatch (Messenger, then SMS when not read within 600 s)

BARE_SERVER = """
import asyncio, sys, tornado.web
class H(tornado.web.RequestHandler):
    def post(self):
        self.set_status(202)
        self.set_header("Content-Type", "application/json")
        self.finish(b'{"dispatch_uuid":"00000000-0000-4000-8000-000000000000"}')
async def main():
    app = tornado.web.Application([(r"/v0.1/dispatch", H)], log_function=lambda h: None)
    server = app.listen(0, "127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""

# --vary-body: every request's Messenger text differs, so no two bodies are the same bytes
WRK_VARY = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, (string.gsub(wrk.body, "Hi via Messenger", "Hi via Messenger " .. counter)))
end
"""
VARY = False


def start_prism(spec: Path, log: Path, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start Prism's mock of ``spec``; its output goes to ``log`` (it prints many lines before its URL)."""
    with socket.socket() as probe:  # Prism needs a port number
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(log, "w") as out:
        proc = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=PRISM.parents[2])
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if match := re.search(r"Prism is listening on (http://\S+)", log.read_text()):
            return proc, match.group(1).rstrip("/")
        time.sleep(0.2)
    e2e.stop_process(proc)
    raise SystemExit(f"Prism did not start: {log.read_text()[-500:]!r}")


def check_dispatch(url: str, token: str) -> None:
    check = requests.post(f"{url}/v0.1/dispatch", json=BODY, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if check.status_code != 202:
        raise SystemExit(f"the sandbox refused the tutorial's dispatch: {check.status_code} {check.text}")


def sink_counts(sink_url: str) -> dict:
    return requests.get(f"{sink_url}/_sink", timeout=10).json()


def wait_for_webhooks(sink_url: str, expected: int, timeout: float) -> tuple[int, float]:
    """Wait until the sink has received ``expected`` webhooks; returns (received, seconds waited)."""
    began = time.monotonic()
    received = sink_counts(sink_url)["requests"]
    while received < expected and time.monotonic() - began < timeout:
        time.sleep(0.05)
        received = sink_counts(sink_url)["requests"]
    return received, time.monotonic() - began


def wait_for_idle(url: str, timeout: float) -> None:
    """Wait until the sandbox has no timer left (every dispatch finished: nothing more to send)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = requests.get(f"{url}/_sandbox", auth=(e2e.API_KEY, e2e.API_SECRET), timeout=10).json()
        if info["pending_timers"] == 0:
            return
        time.sleep(0.05)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, token: str, concurrency: int, duration: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(json.dumps(BODY)), token=token) + (WRK_VARY if VARY else ""))
    try:
        threads = min(concurrency, 2)
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{int(duration)}s", "--latency", "-s", script.name,
             f"{url}/v0.1/dispatch"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    seconds = _ms("".join(re.search(r"requests in ([\d.]+)(\w+),", out).groups())) / 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    return {
        "accepted": total - (int(bad.group(1)) if bad else 0),
        "accepted_rps": (total - failed) / seconds,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "failed": failed,
    }


async def _python_load(host: str, port: int, request: bytes, concurrency: int, duration: float) -> dict:
    latencies: list[float] = []
    failed = 0
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            if head[9:12] == b"202":
                latencies.append(time.perf_counter() - started)
            else:
                failed += 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"accepted": len(latencies), "accepted_rps": len(latencies) / elapsed, "p50_ms": pick(0.50),
            "p99_ms": pick(0.99), "failed": failed}


def run_python(url: str, token: str, concurrency: int, duration: float) -> dict:
    """The load client runs in its own process so that it does not share a GIL with anything measured."""
    code = (
        "import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); import sandbox_load as s; "
        "print(json.dumps(asyncio.run(s._python_load(sys.argv[2], int(sys.argv[3]), sys.argv[4].encode(), "
        "int(sys.argv[5]), float(sys.argv[6])))))"
    )
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(BODY)
    request = (
        f"POST /v0.1/dispatch HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), host, port, request, str(concurrency), str(duration)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--webhooks", choices=("sink", "none"), default="sink",
                        help="'sink' (default): every webhook sent to a local sink that answers 200 at once; "
                             "'none': an application without webhook URLs (nothing sent)")
    parser.add_argument("--prism", choices=("auto", "on", "off"), default="auto",
                        help="measure Prism 5 from benchmarks/prism too (auto: when it is installed there)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--clock", choices=("real", "manual"), default="real",
                        help="sandbox clock; 'real' (default) also runs every failover in the background")
    parser.add_argument("--vary-body", action="store_true",
                        help="wrk only: a different Messenger text in every request (no two bodies alike)")
    parser.add_argument("--concurrency", default="1,8,32",
                        help="comma-separated concurrencies to measure (default 1,8,32; 8 and 32 are reported)")
    parser.add_argument("--drain-timeout", type=float, default=120.0,
                        help="longest wait for the webhooks of one measurement to arrive (default 120 s)")
    args = parser.parse_args()
    concurrencies = sorted({int(c) for c in args.concurrency.split(",")} | {8, 32})
    global VARY
    VARY = args.vary_body
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    load = run_wrk if client == "wrk" else run_python
    use_prism = args.prism == "on" or (args.prism == "auto" and PRISM.exists())
    if args.prism == "on" and not PRISM.exists():
        raise SystemExit(f"Prism is not installed at {PRISM}: run `make bench` (or npm ci in benchmarks/prism)")
    sending = args.webhooks == "sink" and args.clock == "real"
    suffix = "_webhooks" if args.webhooks == "sink" else ""
    procs: list[subprocess.Popen] = []
    results: dict[tuple[str, int], dict] = {}
    lost = 0
    folder = Path(tempfile.mkdtemp(prefix="fbfailover-load-"))
    try:
        sandbox, url = e2e.start_sandbox(folder, ("--clock", args.clock))
        procs.append(sandbox)
        servers = [("sandbox", url)]
        sink_url = None
        if args.webhooks == "sink":
            sink, sink_url = e2e.start_process([sys.executable, str(HERE / "sink.py")], folder, "sink",
                                               r"listening on (http://\S+)")
            procs.append(sink)
        bare, bare_url = e2e.start_process([sys.executable, "-c", BARE_SERVER], folder, "bare",
                                           r"listening on (http://\S+)")
        procs.append(bare)
        servers.append(("bare", bare_url))
        if use_prism:
            spec = folder / "openapi.json"
            spec.write_text(requests.get(f"{url}/_sandbox/openapi.json", timeout=10).text)
            prism, prism_url = start_prism(spec, folder / "prism.log")
            procs.append(prism)
            servers.append(("prism", prism_url))
        token = e2e.create_application(url, sink_url)
        check_dispatch(url, token)
        sent = 1  # the check dispatch
        if sending:
            wait_for_webhooks(sink_url, WEBHOOKS_PER_DISPATCH, 30)
        load_avg = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(
            f"client={client} duration={args.duration:g}s cpus={os.cpu_count()} sandbox clock={args.clock} "
            f"webhooks={args.webhooks} servers={','.join(name for name, _ in servers)} "
            f"load average before={load_avg}", flush=True)
        for concurrency in concurrencies:
            for name, target in servers:
                cpu_before = e2e.cpu_seconds(sandbox.pid)
                result = results[name, concurrency] = load(target, token, concurrency, args.duration)
                note = ""
                if name == "sandbox":
                    sent += result["accepted"]
                    if sending:
                        expected = sent * WEBHOOKS_PER_DISPATCH
                        received, waited = wait_for_webhooks(sink_url, expected, args.drain_timeout)
                        lost = max(lost, expected - received)
                        connections = sink_counts(sink_url)["connections"]
                        note = (f" webhooks={received}/{expected} drain={waited:.1f}s "
                                f"sink_connections={connections}")
                    wait_for_idle(url, args.drain_timeout)
                    cpu = e2e.cpu_seconds(sandbox.pid) - cpu_before
                    note += f" cpu_us_per_dispatch={1e6 * cpu / max(1, result['accepted']):.0f}"
                print(
                    f"{name:8s} c={concurrency:<3d} accepted/s={result['accepted_rps']:9.0f} "
                    f"p50={result['p50_ms']:7.2f} ms p99={result['p99_ms']:7.2f} ms failed={result['failed']}"
                    + note, flush=True)
    finally:
        for proc in reversed(procs):
            e2e.stop_process(proc)
        shutil.rmtree(folder, ignore_errors=True)
    print("load average after=" + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    c8 = results["sandbox", 8]["accepted_rps"]
    lines = [
        f"dispatch_rps_c8{suffix}={c8:.0f}",
        f"dispatch_p99_ms_c8{suffix}={results['sandbox', 8]['p99_ms']:.2f}",
        f"dispatch_p99_ms_c32{suffix}={results['sandbox', 32]['p99_ms']:.2f}",
        f"vs_bare_c8{suffix}={c8 / results['bare', 8]['accepted_rps']:.3f}",
    ]
    if use_prism:
        lines.append(f"vs_prism_c8{suffix}={c8 / results['prism', 8]['accepted_rps']:.3f}")
    if sending:
        lines.append(f"webhooks_lost={lost}")
    print("\n".join(lines))
    print(" ".join(lines))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
