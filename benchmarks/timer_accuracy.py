"""How late the sandbox submits the next workflow item after its scaled deadline, on the real clock.

Sends dispatches whose Messenger message is never read (expiry 60 simulated seconds = 100 ms real at the
default 600x), then reads each dispatch's timeline: the SMS should be submitted 100 ms (real) after the
Messenger message. Prints the lateness percentiles; the target is p99 <= 50 ms. Last line:
``timer_late_p50_ms=<n> timer_late_p99_ms=<n>``.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from datetime import datetime

import jwt
import requests

from fbfailover import sandbox
from fbfailover.keys import generate_private_key, private_pem, public_pem

EXPIRY, SCALE, DISPATCHES = 60, 600.0, 200


def _body(expiry: int) -> dict:
    return {"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": "107083064136738"}, "to": {"type": "messenger", "id": "2536854386373377"},
         "message": {"content": {"type": "text", "text": "Hi"}},
         "failover": {"expiry_time": expiry, "condition_status": "read"}},
        {"from": {"type": "sms", "number": "447700900000"}, "to": {"type": "sms", "number": "447700900001"},
         "message": {"content": {"type": "text", "text": "Hi"}}}]}


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def main() -> int:
    key = generate_private_key()
    with sandbox.start(db=":memory:", time_scale=SCALE) as box:
        app = requests.post(f"{box.url}/v2/applications", auth=(box.api_key, box.api_secret), timeout=10,
                            json={"name": "timer", "keys": {"public_key": public_pem(key)}}).json()
        now = int(time.time())
        token = jwt.encode({"application_id": app["id"], "iat": now, "jti": str(uuid.uuid4()), "exp": now + 900},
                           private_pem(key), algorithm="RS256")
        headers = {"Authorization": f"Bearer {token}"}
        uuids = []
        for _ in range(DISPATCHES):  # spread over time so the timers fire at different moments
            uuids.append(requests.post(f"{box.url}/v0.1/dispatch", json=_body(EXPIRY), headers=headers,
                                       timeout=10).json()["dispatch_uuid"])
            time.sleep(0.005)
        time.sleep(EXPIRY / SCALE + 1.0)
        late = []
        for dispatch_uuid in uuids:
            first, second = box.dispatch(dispatch_uuid)["messages"]
            real = _ts(second["history"][0]["real_time"]) - _ts(first["history"][0]["real_time"])
            late.append(max(0.0, real - EXPIRY / SCALE) * 1000)
    late.sort()
    p50, p99 = statistics.median(late), late[int(0.99 * (len(late) - 1))]
    print(f"dispatches={len(late)} expiry={EXPIRY}s scale={SCALE:g}x deadline={EXPIRY / SCALE * 1000:.0f}ms real")
    print(f"lateness ms: p50={p50:.1f} p99={p99:.1f} max={late[-1]:.1f} (target p99 <= 50)")
    print(f"timer_late_p50_ms={p50:.1f} timer_late_p99_ms={p99:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
