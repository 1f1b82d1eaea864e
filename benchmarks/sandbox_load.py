"""Load benchmark of the sandbox's hot path: accepted ``POST /v0.1/dispatch`` per second and latency.

The standalone sandbox (file database, default clock: 600 simulated seconds per real second, so every
dispatch also runs its failover in the background) and a bare tornado handler answering 202 are measured
the same way in the same run, at concurrency 1, 8 and 32, with a valid JWT and the tutorial's body. Both
servers run in processes of their own, apart from the load client; the machine's load average is printed
before and after, since other work on the machine changes the numbers.
The load comes from ``wrk`` with a Lua script when it is installed, else from a Python keep-alive client.

    python benchmarks/sandbox_load.py [--duration 10] [--client auto|wrk|python]

The last three lines are machine-readable: ``dispatch_rps_c8``, ``dispatch_p99_ms_c32``, ``vs_bare_c8``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fbfailover.payloads import tutorial_workflow

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 8, 32)
# The tutorial's dispatch (Messenger, then SMS when not read within 600 s), built as the notebooks build it.
BODY = tutorial_workflow(from_number="447700900000", to_number="447700900001", fb_sender_id="107083064136738",
                         fb_recipient_id="3951551948198164", text_messenger="Hi via Messenger", text_sms="Hi via SMS")

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


def start_server(args: list[str], pattern: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    match = re.search(pattern, line)
    if not match:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, match.group(1)


def prepare_sandbox(url: str, api_key: str, api_secret: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = requests.post(
        f"{url}/v2/applications",
        auth=(api_key, api_secret),
        timeout=10,
        json={"name": "benchmark", "keys": {"public_key": public}},
    ).json()
    now = int(time.time())
    claims = {"application_id": app["id"], "iat": now, "jti": str(uuid.uuid4()), "exp": now + 3600}
    token = jwt.encode(claims, key, algorithm="RS256")
    check = requests.post(f"{url}/v0.1/dispatch", json=BODY, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert check.status_code == 202, check.text
    return token


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, token: str, concurrency: int, duration: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(json.dumps(BODY)), token=token) + (WRK_VARY if VARY else ""))
    try:
        threads = min(concurrency, 2)
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{int(duration)}s",
                "--latency",
                "-s",
                script.name,
                f"{url}/v0.1/dispatch",
            ],
            capture_output=True,
            text=True,
            check=True,
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
    return {"accepted_rps": len(latencies) / elapsed, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "failed": failed}


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
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--clock",
        choices=("real", "manual"),
        default="real",
        help="sandbox clock; 'real' (default) also runs every failover in the background",
    )
    parser.add_argument("--vary-body", action="store_true",
                        help="wrk only: a different Messenger text in every request (no two bodies alike)")
    args = parser.parse_args()
    global VARY
    VARY = args.vary_body
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    load = run_wrk if client == "wrk" else run_python
    with tempfile.TemporaryDirectory() as tmp:
        sandbox, url = start_server(
            [
                sys.executable,
                "-m",
                "fbfailover.sandbox",
                "--port",
                "0",
                "--db",
                f"{tmp}/bench.sqlite3",
                "--clock",
                args.clock,
                "--api-key",
                "bench001",
                "--api-secret",
                "benchsecret00001",
            ],
            r"listening on (http://\S+)",
        )
        bare, bare_url = start_server([sys.executable, "-c", BARE_SERVER], r"listening on (http://\S+)")
        try:
            token = prepare_sandbox(url, "bench001", "benchsecret00001")
            load_avg = " ".join(f"{v:.2f}" for v in os.getloadavg())
            print(
                f"client={client} duration={args.duration:g}s cpus={os.cpu_count()} sandbox clock={args.clock} "
                f"load average before={load_avg}"
            )
            results: dict[tuple[str, int], dict] = {}
            for concurrency in CONCURRENCY:
                for name, target in (("sandbox", url), ("bare", bare_url)):
                    result = results[name, concurrency] = load(target, token, concurrency, args.duration)
                    print(
                        f"{name:8s} c={concurrency:<3d} accepted/s={result['accepted_rps']:9.0f} "
                        f"p50={result['p50_ms']:7.2f} ms p99={result['p99_ms']:7.2f} ms failed={result['failed']}",
                        flush=True,
                    )
        finally:
            for proc in (sandbox, bare):
                proc.terminate()
                proc.wait(10)
    print("load average after=" + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    c8 = results["sandbox", 8]["accepted_rps"]
    print(f"dispatch_rps_c8={c8:.0f}")
    print(f"dispatch_p99_ms_c32={results['sandbox', 32]['p99_ms']:.2f}")
    print(f"vs_bare_c8={c8 / results['bare', 8]['accepted_rps']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
