"""Notebook 06, a gallery of failures: requests that are wrong on purpose, sent for real, and the API's answer.

Each function builds one request the tutorial could get wrong, sends it through the package's client (which
adds no validation of its own on the way), catches the ``ApiError`` and returns a ``Failure``: the status,
title, detail, type and ``invalid_parameters`` the API answered, what was wrong on purpose, and the request's
curl twin. Nothing in the gallery is accepted, so nothing is sent on to anybody, live or in the sandbox.

``try_request`` is the same catch-and-show for any request a learner builds.
"""

from __future__ import annotations

import copy
import html
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fbfailover.errors import ApiError, TokenError
from fbfailover.keys import generate_private_key
from fbfailover.payloads import Request, to_curl, tutorial_workflow
from fbfailover.sandbox.activity import ON_PURPOSE_HEADER
from fbfailover.tokens import mint_application_jwt, verify_application_jwt
from fbfailover.tutorial.display import code_block
from fbfailover.tutorial.session import Tutorial

__all__ = [
    "SEED_TEXT_MESSENGER",
    "SEED_TEXT_SMS",
    "Failure",
    "bearer_on_applications",
    "expired_jwt",
    "form_encoded",
    "missing_failover",
    "seed_workflow",
    "sms_too_long",
    "try_request",
    "wrong_from_type",
    "wrong_key_jwt",
]

#: The example texts of the original tutorial's request.
SEED_TEXT_MESSENGER = "This is a Facebook Messenger Message sent from the Dispatch API"
SEED_TEXT_SMS = "This is an SMS sent from the Dispatch API"
_FROM, _TO = "447700900000", "447700900001"  # the tutorial's example numbers


@dataclass
class Failure:
    """What the API answered to one request, shown as a panel whose ``text/plain`` is the same every run.

    Attributes:
        what: one line naming the mistake, e.g. ``"an expired JWT"``.
        request: the request as sent (credentials stay out of it: ``auth`` names them).
        error: the ``ApiError`` raised, or None when the API accepted the request.
        answer: the parsed answer when the request was accepted.
        notes: ``(label, text)`` lines about what was wrong on purpose, or what a local check says.
    """

    what: str
    request: Request
    error: ApiError | None = None
    answer: dict[str, Any] | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """True when the API answered with an error status."""
        return self.error is not None

    @property
    def status(self) -> int | None:
        """The error's HTTP status, or None when the request was accepted."""
        return self.error.status if self.error is not None else None

    def _title(self) -> str:
        if self.error is None:
            return f"Accepted: {self.what}"
        return f"Refused ({self.error.status}): {self.what}"

    def rows(self) -> list[tuple[str, str]]:
        """The panel's ``(label, value)`` rows, in order."""
        rows = [("request", f"{self.request.method} {self.request.url} ({_credentials(self.request)})")]
        rows += self.notes
        if self.error is None:
            rows.append(("answer", json.dumps(self.answer, ensure_ascii=False)))
            return rows
        e = self.error
        rows += [("status", str(e.status)), ("title", e.title or ""), ("detail", e.detail or "")]
        if e.type:
            rows.append(("type", e.type))
        if not e.invalid_parameters:
            rows.append(("invalid_parameters", "none"))
        for p in e.invalid_parameters:
            rows.append(("invalid_parameters", f"{p.get('name', '?')}: {p.get('reason', '')}"))
        return rows

    def __repr__(self) -> str:
        return "\n".join([self._title(), *(f"  {label}: {value}" for label, value in self.rows())])

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(label)}</th>"
                       f"<td style='text-align:left'>{html.escape(value)}</td></tr>" for label, value in self.rows())
        curl = f"<details><summary>the same request with curl</summary>{code_block(to_curl(self.request))}</details>"
        return (f"<div class='fbfailover-panel fbfailover-failure'><b>{html.escape(self._title())}</b>"
                f"<table>{rows}</table>{curl}</div>")


def _credentials(request: Request) -> str:
    body = "JSON body" if request.json is not None else "form body" if request.form else "no body"
    auth = {"jwt": "Bearer JWT", "basic": "Basic api_key:api_secret", "query": "api_key/api_secret in the query"}
    return f"{auth.get(request.auth or '', 'no credentials')}, {body}"


def try_request(tut: Tutorial, request: Request, *, what: str = "", bearer: str | None = None,
                notes: Sequence[tuple[str, str]] = (), on_purpose: str = "gallery") -> Failure:
    """Send ``request`` and show what the API answered, catching the error instead of raising it.

    Args:
        tut: the tutorial session (its client sends the request).
        request: a request, e.g. ``tut.client.request_for("send_workflow", body)``.
        what: one line naming what the request tries (the panel's title).
        bearer: a JWT to send instead of a freshly minted one (the request must use ``jwt`` auth).
        notes: extra ``(label, text)`` lines for the panel.
        on_purpose: why this request may fail on purpose (``gallery``, ``exercise``): sent in the
            ``X-Fbfailover-On-Purpose`` header, so a workshop's dashboard does not count its error as trouble
            (Vonage ignores the header; the curl twin leaves it out).

    Returns:
        A ``Failure`` holding the ``ApiError`` (status, title, detail, invalid_parameters), or the answer when
        the API accepted the request.

    Raises:
        TransportError: the API could not be reached (that is no answer to show).
    """
    what = what or f"{request.method} {request.url}"
    marked = replace(request, headers={**request.headers, ON_PURPOSE_HEADER: on_purpose})
    try:
        answer = tut.client.send(marked, bearer=bearer)
    except ApiError as error:
        return Failure(what, request, error=error, notes=list(notes))
    return Failure(what, request, answer=answer, notes=list(notes))


def seed_workflow(tut: Tutorial) -> dict[str, Any]:
    """The original tutorial's request, with its example texts and this session's ids and numbers.

    Raises:
        ValidationError: the Facebook ids are not set yet (run ``ensure_application`` or step 01 first).
    """
    s = tut.settings
    return tutorial_workflow(from_number=s.from_number or _FROM, to_number=s.to_number or _TO,
                             fb_sender_id=s.fb_sender_id or "", fb_recipient_id=s.fb_recipient_id or "",
                             text_messenger=SEED_TEXT_MESSENGER, text_sms=SEED_TEXT_SMS)


def _local_check(tut: Tutorial, token: str) -> tuple[str, str]:
    """What verifying the token with the application's public key says: the reason the API does not give."""
    settings = tut.settings.require("application_id")
    public_key = tut.client.get_application(settings.application_id)["keys"]["public_key"]
    try:
        verify_application_jwt(token, public_key)
    except TokenError as exc:
        return ("checked locally", f"{exc} (fbfailover.verify_application_jwt with the application's public key)")
    return ("checked locally", "the token verifies with the application's public key")


def expired_jwt(tut: Tutorial) -> Failure:
    """The tutorial's request with a JWT minted an hour ago for 15 minutes: it expired 45 minutes ago."""
    s = tut.settings.require("application_id", "private_key_path")
    token = mint_application_jwt(s.application_id, s.private_key_path, ttl=900, now=time.time() - 3600)
    request = tut.client.request_for("send_workflow", seed_workflow(tut))
    return try_request(tut, request, what="an expired JWT", bearer=token, notes=[
        ("wrong on purpose", "iat an hour ago, exp = iat + 900: the token expired 45 minutes ago"),
        _local_check(tut, token)])


def wrong_key_jwt(tut: Tutorial) -> Failure:
    """The tutorial's request with a JWT signed by a brand-new key, not the application's private key."""
    s = tut.settings.require("application_id")
    token = mint_application_jwt(s.application_id, generate_private_key())
    request = tut.client.request_for("send_workflow", seed_workflow(tut))
    return try_request(tut, request, what="a JWT signed with the wrong key", bearer=token, notes=[
        ("wrong on purpose", "signed with a key generated just now; the application holds another public key"),
        _local_check(tut, token)])


def _workflow_failure(tut: Tutorial, what: str, change: str, body: dict[str, Any]) -> Failure:
    return try_request(tut, tut.client.request_for("send_workflow", body), what=what,
                       notes=[("wrong on purpose", change)])


def wrong_from_type(tut: Tutorial) -> Failure:
    """The tutorial's request with ``"facebook"`` as the Messenger message's ``from.type``."""
    body = copy.deepcopy(seed_workflow(tut))
    body["workflow"][0]["from"]["type"] = "facebook"
    return _workflow_failure(tut, "a wrong from.type", 'workflow[0].from.type = "facebook" (the channel is '
                             '"messenger")', body)


def missing_failover(tut: Tutorial) -> Failure:
    """The tutorial's request without the Messenger message's ``failover`` condition."""
    body = copy.deepcopy(seed_workflow(tut))
    del body["workflow"][0]["failover"]
    return _workflow_failure(tut, "a missing failover condition", "workflow[0] has no failover object", body)


def sms_too_long(tut: Tutorial) -> Failure:
    """The tutorial's request with an SMS text of 1,075 characters (the limit is 1,000)."""
    body = copy.deepcopy(seed_workflow(tut))
    text = (SEED_TEXT_SMS + ". ") * 25
    body["workflow"][1]["message"]["content"]["text"] = text
    change = f'workflow[1].message.content.text = "{SEED_TEXT_SMS}. " repeated 25 times ({len(text)} characters)'
    return _workflow_failure(tut, "an SMS text that is too long", change, body)


def form_encoded(tut: Tutorial) -> Failure:
    """The tutorial's request as a form (``application/x-www-form-urlencoded``), as ``curl -d k=v`` sends it."""
    body = seed_workflow(tut)
    request = replace(tut.client.request_for("send_workflow", body), json=None, headers={"Accept": "application/json"},
                      form={"template": body["template"], "workflow": json.dumps(body["workflow"])})
    return try_request(tut, request, what="a form-encoded body", notes=[
        ("wrong on purpose", "Content-Type: application/x-www-form-urlencoded (template=…&workflow=…)")])


def bearer_on_applications(tut: Tutorial) -> Failure:
    """List the applications with a Bearer JWT: the Applications API takes Basic credentials only."""
    request = replace(tut.client.request_for("list_applications", 1, 10), auth="jwt")
    return try_request(tut, request, what="a JWT on the Applications API", notes=[
        ("wrong on purpose", "Authorization: Bearer <the application's JWT> instead of Basic api_key:api_secret")])
