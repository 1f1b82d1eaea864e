"""Property-based fuzzing of every sandbox endpoint, at least 1,000 generated requests each.

The strategies and the property live in ``tests/strategies.py`` (``tests/sandbox/test_fuzz.py`` runs a few cases
per endpoint): no 5xx, no hang, every invalid request answered by a 4xx problem JSON, every valid one accepted.
This script runs the same property against a fresh workshop-mode sandbox with many more cases.

    python -m benchmarks.fuzz [--cases 1000] [--only 'POST /v1/messages via sms']

It prints one line per endpoint with its valid / invalid counts; the last line is machine-readable:
``endpoints=<n> cases=<n> min_cases_per_endpoint=<n> failures=<n> wall_s=<n>``.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.strategies import ENDPOINTS, run_endpoint, start_target


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="generated requests per endpoint (default 1000)")
    parser.add_argument("--only", action="append", default=None, help="endpoint name (repeatable)")
    args = parser.parse_args()
    names = args.only or list(ENDPOINTS)
    server, target = start_target(key_pair())
    counts: dict[str, dict[str, int]] = {}
    failures = 0
    started = time.monotonic()
    try:
        for name in names:
            t0 = time.monotonic()
            try:
                run_endpoint(target, name, args.cases, counts)
                verdict = "ok"
            except Exception as exc:  # report every endpoint, then fail at the end
                failures += 1
                verdict = "FAILED"
                traceback.print_exception(exc, file=sys.stderr)
            c = counts.get(name, {"valid": 0, "invalid": 0})
            print(f"{name:40s} valid={c['valid']:5d} invalid={c['invalid']:5d} "
                  f"time_s={time.monotonic() - t0:6.1f} {verdict}", flush=True)
    finally:
        target.session.close()
        server.stop()
    totals = [c["valid"] + c["invalid"] for c in counts.values()]
    print(f"endpoints={len(names)} cases={sum(totals)} min_cases_per_endpoint={min(totals, default=0)} "
          f"failures={failures} wall_s={time.monotonic() - started:.1f}")
    return 1 if failures or min(totals, default=0) < args.cases else 0


if __name__ == "__main__":
    sys.exit(main())
