"""Start-up time of the tutorial: a fresh Python to a sandbox and a receiver that answer.

Every run is a new Python process, as a fresh notebook kernel is. Measured side by side, ``--runs`` times each:

- the floor: ``import tornado, jwt, cryptography`` (what any tornado + pyjwt program pays before doing anything);
- connect: ``import fbfailover.tutorial as tutorial; tut = tutorial.connect()``, then the in-kernel receiver
  (``tut.receiver``, started with ``tut.start_receiver()`` when ``connect()`` left none), one real request to the
  embedded sandbox (``GET /_sandbox``) and one to the receiver (``GET /health``); when the webhooks are pulled from
  the sandbox's event stream instead (``StreamSource``, what ``connect()`` sets up offline), until the stream's
  first long-poll has been answered.

Each child runs in a temporary folder with an empty ``.env`` (``FBFAILOVER_ENV_FILE``), its own data folder
(``FBFAILOVER_DATA_DIR``, so a new sandbox database unless ``--same-data-dir``) and none of the caller's settings:
it always starts the offline sandbox and never reads or writes the project's ``.env``. One warm-up run of each
(byte-code caches) is not counted.

How to read it: ``connect_s`` is the median time from spawning the process to the line the child prints once
both servers have answered (interpreter start-up included); ``connect_inner_s`` is the same from the child's first
statement. ``exit_s`` is the time the child then needs to stop both and exit. The breakdown gives the median of
each phase and, from one more run under ``python -X importtime``, the modules that cost the most to import
(cumulative, and self time). The target line says what ``connect_s`` should stay under.

    python benchmarks/connect.py [--runs 5] [--same-data-dir] [--top 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fbfailover.config import is_setting

TARGET_CONNECT_S = 0.6

FLOOR_CODE = """\
import time
t0 = time.perf_counter()
import tornado, jwt, cryptography
import json
print(json.dumps({"import": time.perf_counter() - t0, "answer": time.perf_counter() - t0}), flush=True)
"""

CONNECT_CODE = """\
import time
t0 = time.perf_counter()
import fbfailover.tutorial as tutorial
t_import = time.perf_counter()
tut = tutorial.connect()
t_connect = time.perf_counter()
started_by_connect = tut.receiver is not None
receiver = tut.receiver or tut.start_receiver()
t_receiver = time.perf_counter()
info = tut.sandbox.info()
assert info.get("sandbox") == "fbfailover", info
t_sandbox = time.perf_counter()
if hasattr(receiver, "local_url"):  # a receiver in this kernel: its health route answers
    import requests
    health = requests.get(receiver.local_url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
else:  # webhooks pulled from the sandbox's event stream: its first long-poll was answered
    assert receiver.wait_until_connected(10), receiver
t_answer = time.perf_counter()
import json
print(json.dumps({
    "mode": tut.mode,
    "import": t_import - t0,
    "connect": t_connect - t_import,
    "receiver": t_receiver - t_connect,
    "sandbox_request": t_sandbox - t_receiver,
    "receiver_request": t_answer - t_sandbox,
    "answer": t_answer - t0,
    "receiver_started_by_connect": started_by_connect,
}), flush=True)
receiver.stop()
tut.sandbox.stop()
"""


def clean_environment(folder: Path) -> dict[str, str]:
    """The caller's environment without any tutorial setting, pointed at ``folder`` (as tools/sandboxed.py)."""
    env = {k: v for k, v in os.environ.items() if not is_setting(k)}
    env.pop("PYTHONPATH", None)
    env["FBFAILOVER_ENV_FILE"] = str(folder / ".env")
    env["FBFAILOVER_DATA_DIR"] = str(folder / "data")
    return env


def run_child(code: str, folder: Path, *, importtime: bool = False) -> dict:
    """Run ``code`` in a fresh Python in ``folder``; return its JSON line plus wall times and stderr."""
    (folder / ".env").touch()
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=folder, env=clean_environment(folder), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        answered = time.perf_counter() - started
        _, err = proc.communicate(timeout=60)
        exited = time.perf_counter() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0 or not line.startswith("{"):
        raise SystemExit(f"child failed (exit {proc.returncode}): {line!r}\n{err[-3000:]}")
    result = json.loads(line)
    result.update(wall_answer=answered, wall_exit=exited, exit=exited - answered, stderr=err)
    return result


def parse_importtime(stderr: str) -> list[tuple[int, int, str]]:
    """``-X importtime`` lines as (self_us, cumulative_us, indented module name)."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(self_us), int(cumulative_us), name.rstrip()))
    return rows


def package_totals(rows: list[tuple[int, int, str]]) -> dict[str, int]:
    """Self import time summed by top-level package (every module counted once)."""
    totals: dict[str, int] = {}
    for self_us, _, name in rows:
        top = name.strip().split(".")[0]
        totals[top] = totals.get(top, 0) + self_us
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (default 5)")
    parser.add_argument("--top", type=int, default=10, help="modules listed in the import breakdown (default 10)")
    parser.add_argument("--same-data-dir", action="store_true",
                        help="keep one data folder for every connect run (the sandbox database already exists "
                             "after the warm-up), instead of a new one per run")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    base = Path(tempfile.mkdtemp(prefix="fbfailover-connect-"))
    try:
        def folder(name: str) -> Path:
            path = base / name
            path.mkdir(parents=True, exist_ok=True)
            return path

        print(f"python={sys.version.split()[0]} cpus={os.cpu_count()} runs={args.runs} "
              f"load average before={' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
        run_child(FLOOR_CODE, folder("warm-floor"))
        run_child(CONNECT_CODE, folder("shared" if args.same_data_dir else "warm-connect"))
        floors, connects = [], []
        for i in range(args.runs):  # interleaved, so a busy spell of the machine hits both alike
            floors.append(run_child(FLOOR_CODE, folder(f"floor-{i}")))
            connects.append(run_child(CONNECT_CODE, folder("shared" if args.same_data_dir else f"connect-{i}")))
            print(f"run {i + 1}: floor {floors[-1]['wall_answer']:.3f} s  connect {connects[-1]['wall_answer']:.3f} s "
                  f"(inner {connects[-1]['answer']:.3f} s, exit {connects[-1]['exit']:.3f} s)", flush=True)
        traced = run_child(CONNECT_CODE, folder("importtime"), importtime=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def med(results: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in results)

    mode = connects[0]["mode"]
    if mode != "sandbox":
        print(f"warning: connect() chose mode {mode!r}, not the embedded sandbox", file=sys.stderr)
    floor_s = med(floors, "wall_answer")
    connect_s = med(connects, "wall_answer")

    print()
    print("where connect's time goes (medians, seconds):")
    startup = statistics.median(r["wall_answer"] - r["answer"] for r in connects)
    print(f"  {'interpreter start-up (spawn to first statement)':52s} {startup:7.3f}")
    for key, label in (("import", "import fbfailover.tutorial"),
                       ("connect", "tutorial.connect() (embedded sandbox started)"),
                       ("receiver", "receiver start (tut.start_receiver())"),
                       ("sandbox_request", "first request to the sandbox (GET /_sandbox)"),
                       ("receiver_request", "first request to the receiver (GET /health)")):
        print(f"  {label:52s} {med(connects, key):7.3f}")
    print(f"  {'(after answering) stop both and exit':52s} {med(connects, 'exit'):7.3f}")
    if connects[0]["receiver_started_by_connect"]:
        print("  note: connect() started the receiver itself")

    rows = parse_importtime(traced["stderr"])
    total_us = sum(r[0] for r in rows)
    print()
    print(f"imports under -X importtime (one run, {len(rows)} modules, {total_us / 1e6:.3f} s of import in all; "
          "importtime itself slows imports down):")
    print(f"  top {args.top} by cumulative time (a module and everything it imported first):")
    for _, cumulative_us, name in sorted(rows, key=lambda r: -r[1])[: args.top]:
        print(f"    {cumulative_us / 1000:8.1f} ms  {name.strip()}")
    print(f"  top {args.top} by self time:")
    for self_us, _, name in sorted(rows, key=lambda r: -r[0])[: args.top]:
        print(f"    {self_us / 1000:8.1f} ms  {name.strip()}")
    print(f"  top {args.top} packages by self time summed:")
    for top, us in sorted(package_totals(rows).items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"    {us / 1000:8.1f} ms  {top}")

    print()
    print(f"load average after={' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"connect_inner_s={med(connects, 'answer'):.3f}")
    print(f"import_floor_s={floor_s:.3f}")
    print(f"connect_s={connect_s:.3f}")
    print(f"connect_vs_floor={connect_s / floor_s:.2f}")
    print(f"target connect_s<={TARGET_CONNECT_S}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
