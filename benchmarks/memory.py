"""The standalone sandbox's memory (RSS) over 50,000 dispatches: it must level off, not grow without bound.

One ``fbfailover sandbox`` (file database in a temporary folder, the default 600x clock, so every dispatch's
failover, status webhooks and final report finish about a second after it is accepted) and one application. By
default (``--webhooks sink``) its webhooks are really sent: five per dispatch, signed, over HTTP to a local sink
that answers 200 at once (``sink.py``); ``--webhooks receiver`` sends them to an ``fbfailover receiver``
(signatures verified), ``--webhooks none`` gives the application no webhook URLs (each webhook is then kept in the
sandbox's bounded in-memory list of ``no_url`` deliveries).
The tutorial's two-item failover workflow is sent ``--count`` times (default 50,000) from ``--concurrency`` (8)
keep-alive connections by the load client of ``end_to_end.py`` (in its own process). The sandbox's resident set
(``VmRSS`` in ``/proc/<pid>/status``) is sampled before the load, at every tenth of the count, at the end of the
load and once every timer has run (``pending_timers`` of ``GET /_sandbox`` back to 0).

How to read it: the printed samples (every fifth of the count, e.g. ``rss_mb_10k`` ... ``rss_mb_50k``) should
climb while the bounded stores, caches and SQLite's page cache fill, then stay level.
``rss_growth_first_half_mb`` is the growth from before the load to half the count, ``rss_growth_last_half_mb`` from
half the count to the end of the load. The verdict is "bounded" when the second half grew by at most 10% of the
first half's growth or 2 MB, whichever is larger (below 2 MB the allocator's noise dominates); otherwise
"GROWING" and the exit status is 1. Short runs (``--count 3000``) show that it works, not that memory is bounded:
the stores' bounds are reached only after thousands of dispatches.

    python -m benchmarks.memory [--count 50000] [--concurrency 8] [--webhooks sink|receiver|none]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

GROWTH_SHARE = 0.10  # the second half may grow by at most this share of the first half's growth...
GROWTH_FLOOR_MB = 2.0  # ...or by this much, whichever is larger


def _end_to_end():
    """end_to_end.py next to this file, loaded by path (works as a script and as ``python -m benchmarks.memory``)."""
    spec = importlib.util.spec_from_file_location("fbfailover_benchmark_end_to_end",
                                                  Path(__file__).resolve().with_name("end_to_end.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def status_mb(pid: int, field: str) -> float:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in /proc/{pid}/status")


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--count", type=int, default=50_000, help="dispatches to send (default 50,000)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections sending at once (default 8)")
    parser.add_argument("--webhooks", choices=("sink", "receiver", "none"), default="sink",
                        help="where the webhooks go: a local sink answering 200 (default), an fbfailover receiver, "
                             "or nowhere (an application without webhook URLs)")
    parser.add_argument("--drain-timeout", type=float, default=300.0,
                        help="longest wait for every timer to run after the load (default 300 s)")
    args = parser.parse_args()
    if args.count < 10:
        parser.error("--count must be at least 10")
    if not Path("/proc/self/status").exists():
        parser.error("this benchmark reads /proc/<pid>/status (Linux)")
    e2e = _end_to_end()

    folder = Path(tempfile.mkdtemp(prefix="fbfailover-memory-"))
    procs: list[subprocess.Popen] = []
    try:
        sandbox, url = e2e.start_sandbox(folder)
        procs.append(sandbox)
        receiver_url = None
        if args.webhooks == "receiver":
            receiver, receiver_url = e2e.start_receiver(folder)
            procs.append(receiver)
            threading.Thread(target=lambda: [None for _ in receiver.stdout], daemon=True).start()  # keep it flowing
        elif args.webhooks == "sink":
            sink, receiver_url = e2e.start_process([sys.executable, str(Path(__file__).with_name("sink.py"))],
                                                   folder, "sink", r"listening on (http://\S+)")
            procs.append(sink)
        token = e2e.create_application(url, receiver_url)
        check = requests.post(f"{url}/v0.1/dispatch", json=e2e.BODY, headers={"Authorization": f"Bearer {token}"},
                              timeout=30)
        if check.status_code != 202:
            raise SystemExit(f"the sandbox refused the tutorial's dispatch: {check.status_code} {check.text}")
        time.sleep(1.5)  # let that first dispatch finish: the start sample includes one of everything

        step = args.count // 10
        marks = {step * i for i in range(1, 11)}
        samples: dict[int, float] = {0: status_mb(sandbox.pid, "VmRSS")}

        def on_progress(accepted: int) -> None:
            if accepted in marks:
                samples[accepted] = status_mb(sandbox.pid, "VmRSS")
                if accepted % (2 * step) == 0:
                    print(f"  {accepted:>7} dispatches: rss {samples[accepted]:.1f} MB", flush=True)

        print(f"cpus={os.cpu_count()} count={args.count} concurrency={args.concurrency} "
              f"webhooks={args.webhooks} rss_mb_start={samples[0]:.1f} "
              f"load average before={' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
        accepted, summary = e2e.run_load_client(url, token, folder, concurrency=args.concurrency, count=args.count,
                                                progress_every=step, on_progress=on_progress)
        rss_end = status_mb(sandbox.pid, "VmRSS")
        print(f"load: {summary['accepted']} accepted in {summary['elapsed']:.1f} s "
              f"({summary['accepted'] / summary['elapsed']:.0f}/s), statuses {summary['statuses']}", flush=True)

        deadline = time.monotonic() + args.drain_timeout
        pending = None
        while time.monotonic() < deadline:
            pending = requests.get(f"{url}/_sandbox", auth=(e2e.API_KEY, e2e.API_SECRET), timeout=30).json()
            pending = pending["pending_timers"]
            if pending == 0:
                break
            time.sleep(0.2)
        rss_drained = status_mb(sandbox.pid, "VmRSS")
        peak = status_mb(sandbox.pid, "VmHWM")
    finally:
        for proc in reversed(procs):
            e2e.stop_process(proc)
        shutil.rmtree(folder, ignore_errors=True)

    half = 5 * step
    if half not in samples:  # fewer accepted than asked (refused requests): the nearest sample below half
        half = max(n for n in samples if n <= len(accepted) // 2)
    first = samples[half] - samples[0]
    last = rss_end - samples[half]
    bound = max(GROWTH_SHARE * first, GROWTH_FLOOR_MB)
    bounded = last <= bound
    print(f"load average after={' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"pending timers after the drain: {pending}")
    print(f"rss_mb_start={samples[0]:.1f} "
          + " ".join(f"rss_mb_{label(n)}={samples[n]:.1f}" for n in sorted(samples) if n and n % (2 * step) == 0)
          + f" rss_mb_end={rss_end:.1f} rss_mb_drained={rss_drained:.1f} rss_mb_peak={peak:.1f}")
    print(f"rss_growth_first_half_mb={first:.1f}")
    print(f"rss_growth_last_half_mb={last:.1f}")
    print(f"verdict: {'bounded' if bounded else 'GROWING'} (last half grew {last:.1f} MB; bound "
          f"max({GROWTH_SHARE:.0%} of the first half's {first:.1f} MB, {GROWTH_FLOOR_MB:g} MB) = {bound:.1f} MB)")
    return 0 if bounded else 1


if __name__ == "__main__":
    sys.exit(main())
