"""Intake: every webhook, pushed or pulled, goes through here: parse → verify → classify → store.

One place decides what is accepted, whatever the transport: the push receiver (``app.py``, a tornado route per
webhook path) and the pulled stream of a shared sandbox or a project receiver (``stream.py``) both hand each
webhook's path, query, headers and exact body bytes to ``Intake.receive``; the store then dedupes and bounds.

Each route takes only its own kind of webhook; the route, not the body, says what an event is:

- ``/webhooks/inbound`` and ``/webhooks/inbound-sms`` take inbound messages; ``/webhooks/status`` and
  ``/webhooks/delivery-receipt`` (where a request authenticated with Basic credentials has its webhooks sent)
  take message statuses and Dispatch final reports. A body of another kind (a status
  posted to an inbound route, a message posted to a status route) is refused: 400, nothing stored.

What each route accepts once a signature secret is set:

- ``/webhooks/inbound`` and ``/webhooks/status`` (Messages and Dispatch, signed by default since 2020): only a
  valid HS256 JWT (``signature.verify_signed_webhook``); a bad or stale token is refused (401), and so is a token
  whose ``api_key`` claim names another account when the account's API key is known. A callback with **no**
  ``Authorization`` is answered **503** and not stored: Vonage's signed-webhooks page says that "in the rare case
  of an internal error" the callback service may send an unsigned callback, and that a 5xx answer triggers a
  retry, by which time it is signed. A 401 would be final and lose it; storing it would let anyone who knows
  the URL post messages.
- ``/webhooks/inbound-sms`` and ``/webhooks/delivery-receipt`` (the account-level URLs): a JWT is checked as
  above (the Messages-format callbacks of a channel linked to no application, a Facebook Page in step 01, land
  here, signed); an SMS API ``sig`` parameter is checked with ``signature.verify_sms_signature``; a failed check
  is refused (401). Without either, only an **SMS API** body (``msisdn``/``messageId``) is taken, **marked**
  ``signature="unverified"``: the SMS API signs only when the account has signed SMS webhooks enabled (Vonage
  support switches it on), so refusing unsigned ones would lose every inbound SMS and delivery receipt of most
  accounts. An unverified event is shown (the feed flags it) but drives nothing: the tutorial's steps take only
  verified events (``EventSource.wait_for(verified=True)``). An account that did enable signing sets
  ``require_sms_signature`` and unsigned SMS API callbacks are refused (401). An unsigned body of any other shape
  (a Messages or Dispatch body: never unsigned unless Vonage had an internal error) is answered 503 as above.

Without a secret nothing is checked: ``signature`` is ``"unchecked"`` (signed) or ``"absent"``; the route rule
still holds.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fbfailover.errors import UnsignedWebhookError
from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import SENT_AT_HEADER, make_event
from fbfailover.webhooks.signature import (
    DEFAULT_MAX_AGE,
    SMS_SIGNATURE_METHODS,
    SignatureError,
    verify_signed_webhook,
    verify_sms_signature,
)
from fbfailover.webhooks.store import EventStore

__all__ = ["ROUTE_KINDS", "SMS_ROUTES", "Intake"]

UNSIGNED_NOTICE = "accepting unsigned webhooks: no signature secret set, signatures are not checked"
UNVERIFIED_SMS_NOTICE = ("accepted an unsigned SMS API callback, marked unverified: the SMS API signs only when "
                         "signed SMS webhooks are enabled on the account")
SMS_ROUTES = ("/webhooks/inbound-sms", "/webhooks/delivery-receipt")
#: The kinds of event each route takes; a body of another kind is refused (400). A path not listed here (an address
#: a learner made up under a mailbox) takes any kind, read from the body.
ROUTE_KINDS: dict[str, tuple[str, ...]] = {
    "/webhooks/inbound": ("inbound",),
    "/webhooks/inbound-sms": ("inbound",),
    "/webhooks/status": ("status", "final_report"),
    "/webhooks/delivery-receipt": ("status", "final_report"),  # a Basic-auth request's statuses come here
}
#: What an unsigned callback is answered when signatures are checked (see the module docstring).
UNSIGNED_STATUS = 503


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _parse(method: str, query: Mapping[str, str], content_type: str, raw: bytes) -> Any:
    if method == "GET":
        return dict(query)
    if content_type == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if not raw.strip():
        return {}
    return json.loads(raw)


@dataclass
class Intake:
    """The signature settings and the store every transport hands webhooks to.

    Attributes:
        store: where accepted events go (it dedupes redeliveries and bounds what it keeps).
        signature_secret: the account's signature secret, or None (nothing checked).
        max_age: the oldest ``iat`` / SMS ``timestamp`` accepted, in real seconds.
        api_key: the account's API key, when known: a JWT's ``api_key`` claim must equal it.
        sms_signature_methods: the SMS API signature methods accepted.
        require_sms_signature: refuse unsigned SMS API callbacks instead of marking them unverified.
    """

    store: EventStore
    signature_secret: str | None = None
    max_age: float = DEFAULT_MAX_AGE
    notices: list[str] = field(default_factory=list)
    api_key: str | None = None
    sms_signature_methods: tuple[str, ...] = SMS_SIGNATURE_METHODS
    require_sms_signature: bool = False

    def notice(self, text: str) -> None:
        """Record ``text`` once."""
        if text not in self.notices:
            self.notices.append(text)

    def receive(self, route: str, body: bytes, headers: Mapping[str, str], *, method: str = "POST",
                query: Mapping[str, str] | None = None, received_at: float | None = None) -> tuple[int, str | None]:
        """Take one webhook as it came; returns ``(200, None)`` when stored, else ``(status, reason)``.

        Args:
            route: the webhook path (``/webhooks/status``, ...).
            body: the exact body bytes (the signature covers them).
            headers: its headers (``Authorization``, ``Content-Type``, ...), case-insensitive or title-cased.
            method: ``POST``, or ``GET`` for an SMS API callback in the query string.
            query: the query arguments.
            received_at: when the webhook reached the server that kept it for a pull (real epoch seconds): its
                signature must have been fresh then. None means now (a push).
        """
        query = dict(query or {})
        header = _header_reader(headers)
        content_type = (header("Content-Type") or "").split(";")[0].strip().lower()
        try:
            parsed, readable = _parse(method, query, content_type, body), True
        except (ValueError, UnicodeDecodeError):
            parsed, readable = None, False
        try:  # the signature first: an unsigned request learns nothing about what the receiver parses
            signature, claims = self._signature(route, header("Authorization"), body, parsed, query, received_at)
        except UnsignedWebhookError as exc:
            return self._reject(route, UNSIGNED_STATUS, str(exc))
        except SignatureError as exc:
            return self._reject(route, 401, str(exc))
        if not readable:
            return self._reject(route, 400, "body is not JSON")
        event = make_event(route, parsed, signature=signature, claims=claims)
        allowed = ROUTE_KINDS.get(route)
        if allowed is not None and event.kind not in allowed:
            return self._reject(route, 400, f"a {event.kind.replace('_', ' ')} body on {route}, which takes "
                                            f"{' and '.join(k.replace('_', ' ') for k in allowed)} webhooks only")
        event.sent_at = _float(header(SENT_AT_HEADER))
        self.store.add(event)
        return 200, None

    def _reject(self, route: str, status: int, reason: str) -> tuple[int, str]:
        self.store.reject(route, reason, status)
        return status, reason

    def _signature(self, route: str, authorization: str | None, raw: bytes, body: Any,
                   query: Mapping[str, str], now: float | None) -> tuple[str, dict[str, Any] | None]:
        """Check the webhook's signature as the route and the settings ask (see the module docstring).

        Raises:
            SignatureError: when the webhook must be refused.
        """
        if not self.signature_secret:
            self.notice(UNSIGNED_NOTICE)
            return ("unchecked" if authorization else "absent"), None
        if route in SMS_ROUTES and not authorization:
            params: dict[str, Any] = dict(query)
            if isinstance(body, dict):
                params.update({k: v for k, v in body.items() if not isinstance(v, (dict, list))})
            if "sig" in params:
                verify_sms_signature(params, self.signature_secret, methods=self.sms_signature_methods,
                                     max_age=self.max_age, now=now)
                return "verified", None
            if shapes.version(body) != shapes.SMS_API:
                raise UnsignedWebhookError(f"unsigned webhook: no Authorization header, and not an SMS API callback "
                                      f"(msisdn or messageId) either; only the SMS API sends unsigned callbacks "
                                      f"to {route}. Answered {UNSIGNED_STATUS} so that Vonage retries it signed; "
                                      f"nothing was stored")
            if self.require_sms_signature:
                raise SignatureError("unsigned SMS callback: neither an Authorization header nor a sig parameter "
                                     "(signed SMS webhooks are required)")
            self.notice(UNVERIFIED_SMS_NOTICE)
            return "unverified", None
        if not authorization:
            raise UnsignedWebhookError(f"unsigned webhook: no Authorization header (a signature secret is set). Vonage "
                                  f"signs Messages and Dispatch callbacks and sends an unsigned one only after an "
                                  f"internal error: answered {UNSIGNED_STATUS} so that it is retried signed; "
                                  f"nothing was stored")
        claims = verify_signed_webhook(authorization, raw, self.signature_secret, max_age=self.max_age, now=now,
                                       api_key=self.api_key)
        return "verified", claims


def _header_reader(headers: Mapping[str, str]):  # -> Callable[[str], str | None]
    if hasattr(headers, "get_list"):  # tornado's HTTPHeaders: already case-insensitive
        return headers.get
    lowered = {k.lower(): v for k, v in headers.items()}
    return lambda name: lowered.get(name.lower())
