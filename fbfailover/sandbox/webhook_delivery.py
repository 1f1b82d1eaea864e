"""Webhook delivery: signed like Vonage's, retried with back-off, every attempt recorded (the bodies: ``bodies.py``).

A delivery is a database row with its exact body bytes; each attempt is a persisted timer, so a restart
resumes what was pending. Retries follow Vonage's documented schedule in *simulated* seconds: 5 s, doubling up to
15 minutes, then every 15 minutes, given up 24 hours after the first attempt. Only 429, 5xx and connection
failures are retried; any other answer outside 2xx is final. Webhooks of one dispatch (or of one message outside a
dispatch) go out one after another, in the order they were raised, so a receiver sees ``submitted`` before
``delivered`` and the last status before the final report. A webhook being retried does not hold back the ones
after it: each is retried on its own, as Vonage does.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from .bodies import iso
from .clock import TimerKind
from .documents import new_delivery
from .mailbox import route_of
from .outbox import Job, Outbox
from .storage import dumps

if TYPE_CHECKING:
    from .catalog import Account, Accounts
    from .clock import Clock, Scheduler
    from .mailbox import Mailbox
    from .outbound import Outbound
    from .records import Records
    from .storage import Database

__all__ = ["Webhooks", "retry_delay", "sign"]

GIVE_UP_AFTER = 24 * 3600.0
USER_AGENT = "fbfailover-sandbox (Vonage webhook emulation)"
# Real epoch seconds when the webhook is handed to the HTTP client (not a Vonage header: for latency measurements)
SENT_AT_HEADER = "X-Fbfailover-Sent-At"
PER_HOST = 32  # webhooks under way at once to one destination (scheme, host, port): one connection each
MAILBOX_DESTINATION = "mailbox"  # the queue of webhooks to this sandbox's own mailbox addresses


@functools.lru_cache(maxsize=1024)  # the few URLs in use, parsed once each
def destination(url: str) -> str:
    """Which queue and connection pool ``url`` belongs to: ``scheme://host:port``, or ``MAILBOX_DESTINATION``."""
    if route_of(url) is not None:
        return MAILBOX_DESTINATION
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # not a port: the attempt will fail and say so
        port = None
    return f"{parts.scheme}://{parts.hostname}:{port}"


def retry_delay(attempts_made: int) -> float:
    """Simulated seconds before the next attempt, after ``attempts_made`` failed ones: 5, 10, 20, ... 900."""
    return float(min(5 * 2 ** (attempts_made - 1), 900))


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


# The JOSE header every webhook token has, as PyJWT writes it (keys sorted, no spaces), encoded once.
_HS256_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


def sign(body: bytes, account: Account, application_id: str | None) -> str:
    """The ``Authorization`` bearer token of a signed webhook (HS256 with the account's signature secret).

    ``iat`` is real time, not simulated time: receivers check it against their own clock. The token is a
    compact JWS (RFC 7515): the same bytes PyJWT's ``jwt.encode(claims, secret, algorithm="HS256")`` writes
    (claims in this order, compact JSON written by orjson: for ASCII claims, as the sandbox's keys, UUIDs and hashes
    are, what ``json.dumps(claims, separators=(",", ":"))`` writes; a non-ASCII ``--api-key`` is written as UTF-8
    rather than ``\\u`` escapes, the same JSON value), at a fraction of its cost per webhook
    (``tests/sandbox/test_retry_signatures.py`` compares the two byte for byte and decodes both).
    """
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": account.api_key,
    }
    if application_id:
        claims["application_id"] = application_id
    signing_input = _HS256_HEADER + b"." + _b64url(orjson.dumps(claims))
    mac = hmac.digest(account.signature_secret.encode("utf-8"), signing_input, "sha256")
    return (signing_input + b"." + _b64url(mac)).decode("ascii")


class Webhooks:
    """Queue, sign, send and retry webhooks; ``attempt`` runs the scheduler's ``TimerKind.DELIVER`` timers."""

    def __init__(
        self,
        db: Database,
        records: Records,
        accounts: Accounts,
        clock: Clock,
        scheduler: Scheduler,
        mailbox: Mailbox,
        *,
        connect_timeout: float = 3.0,
        request_timeout: float = 15.0,
        per_host: int = PER_HOST,
    ):
        self.db = db
        self.records = records
        self.accounts = accounts
        self.clock = clock
        self.scheduler = scheduler
        self.mailbox = mailbox
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.per_host = per_host
        self._outbound: Outbound | None = None
        self.outbox = Outbox(self._attempt, per_host)

    def outbound(self) -> Outbound:
        """The HTTP client: kept-alive connections, at most ``per_host`` to each destination (made on first use)."""
        if self._outbound is None:
            # Imported on first use: aiohttp takes about 0.1 s to import, which a kernel that sends nothing
            # should not pay when it starts the sandbox.
            from .outbound import Outbound

            self._outbound = Outbound(self.per_host, self.connect_timeout, self.request_timeout)
        return self._outbound

    async def close(self, timeout: float = 2.0) -> None:
        """Let the attempts under way finish (``timeout`` at most), then close the connections.

        Attempts still waiting for their turn are not made: their deliveries stay pending in the database and
        are attempted after the next start (``resume``).
        """
        await self.outbox.close(timeout)
        if self._outbound is not None:
            await self._outbound.close()
            self._outbound = None

    def send(
        self,
        account: Account,
        url: str,
        body: dict,
        *,
        kind: str,
        at: float,
        application_id: str | None = None,
        dispatch_uuid: str | None = None,
        message_uuid: str | None = None,
    ) -> int:
        """Record a webhook and schedule its first attempt now; with no URL it is recorded as ``no_url``, in
        memory only (``Records.add_unsent``)."""
        doc = new_delivery(kind, url, at, iso(at), application_id=application_id, dispatch_uuid=dispatch_uuid,
                           message_uuid=message_uuid)
        if not url:
            return self.records.add_unsent(account.id, doc, body)
        delivery_id = self.records.add_delivery(account.id, doc, dumps(body).encode("utf-8"))
        self.scheduler.add(at, TimerKind.DELIVER, str(delivery_id))
        return delivery_id

    def resume(self, scheduled: set[str]) -> int:
        """Schedule pending deliveries whose attempt was in flight when the process died."""
        count = 0
        for delivery_id in self.records.pending_deliveries():
            if str(delivery_id) not in scheduled:
                self.scheduler.add(self.clock.now(), TimerKind.DELIVER, str(delivery_id))
                count += 1
        return count

    def attempt(self, ref: str, data: dict, at: float) -> asyncio.Future | None:
        """Queue one attempt of delivery ``ref`` (its timer fired); returns a future settled once it was made.

        The attempt waits for the previous webhook of its dispatch (or message) to have had its attempt, then
        for a free worker of its destination (``outbox.py``).
        """
        found = self.records.delivery(int(ref))
        if found is None:
            return None
        doc = found[0]
        where = destination(doc["url"])
        lane = doc.get("dispatch_uuid") or doc.get("message_uuid") or ref
        future = asyncio.get_running_loop().create_future()
        return self.outbox.put(Job(int(ref), lane, where, at, where == MAILBOX_DESTINATION, future))

    async def _attempt(self, job: Job) -> None:
        """Make one attempt (through the mailbox or HTTP) and record its outcome; retries get a timer."""
        found = self.records.delivery(job.delivery_id)
        if found is None:  # no longer pending
            return
        doc, body = found
        at = job.at
        account = self.accounts.by_id(doc["account_id"])
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if doc["kind"] != "inbound_sms":  # the SMS API signs with a sig parameter in the body (bodies.inbound_sms)
            headers["Authorization"] = f"Bearer {sign(body, account, doc.get('application_id'))}"
        started = time.time()
        code: int | None = None
        error: str | None = None
        mailbox = route_of(doc["url"])
        if mailbox is not None:  # an address of this sandbox: keep it for the account's stream
            api_key, route, query = mailbox
            if api_key == account.api_key:
                try:
                    self.mailbox.put(account.id, route, query, {**headers, SENT_AT_HEADER: repr(started)}, body)
                    code = 200
                except ValueError as exc:  # over the mailbox's item size: as a 413 would be
                    code, error = 413, str(exc)
            else:
                code, error = 403, "the mailbox of another account"
        else:
            code, error = await self.outbound().post(doc["url"], {**headers, SENT_AT_HEADER: repr(started)}, body)
        # The delivery may have been read before the await: read it again so concurrent changes are kept.
        found = self.records.delivery(doc["id"])
        if found is None:
            return
        doc = found[0]
        first = doc["first_attempt_unix"] if doc["first_attempt_unix"] is not None else at
        doc["first_attempt_unix"] = first
        doc["attempts"].append(
            {
                "number": len(doc["attempts"]) + 1,
                "at": iso(at),
                "at_unix": round(at, 3),
                "real_time": iso(started),
                "duration_ms": round((time.time() - started) * 1000, 1),
                "status_code": code,
                "error": error,
            }
        )
        doc["next_attempt"] = None
        if code is not None and 200 <= code < 300:
            doc["status"] = "delivered"
        elif code is None or code == 429 or code >= 500:
            due = at + retry_delay(len(doc["attempts"]))
            if due - first > GIVE_UP_AFTER:
                doc["status"] = "gave_up"
            else:
                doc["next_attempt"] = iso(due)
                self.scheduler.add(due, TimerKind.DELIVER, str(doc["id"]))
        else:
            doc["status"] = "failed"
        self.records.update_delivery(doc["id"], {k: v for k, v in doc.items() if k not in ("id", "account_id")})
        if mailbox is not None and code == 200:
            self.db.soon()  # a long-poll waits for it: hand it out at the end of this iteration
        else:
            self.db.changed()  # nobody waits for the outcome
