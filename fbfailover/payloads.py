"""Pure builders for the request bodies of the tutorial, and the curl twin of every request.

Each builder checks its result with the rules in ``validation`` and raises ``ValidationError`` listing
every problem. Nothing here reads files, the environment or the network.
"""

from __future__ import annotations

import json as jsonlib
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from .channels import by_name
from .validation import (
    address_field,
    client_ref_problem,
    failover_problems,
    message_problems,
    message_v1_problems,
    raise_if,
    url_problem,
    validate_workflow,
)

__all__ = [
    "DEFAULT_TEXT_MESSENGER",
    "DEFAULT_TEXT_SMS",
    "WEBHOOK_VERSION",
    "Request",
    "account_settings_body",
    "application_body",
    "failover_condition",
    "failover_workflow",
    "message_v01",
    "message_v1",
    "messenger_item",
    "sms_item",
    "to_curl",
    "tutorial_workflow",
]

DEFAULT_TEXT_MESSENGER = "Hello from fbfailover on Facebook Messenger. Not read in time? An SMS follows."
# True for every outcome that sends it: not read by the deadline, rejected, or undeliverable on Messenger.
DEFAULT_TEXT_SMS = "Hello from fbfailover: we could not reach you on Messenger, so here is your message by SMS."

#: The Messages webhook format the tutorial's applications and v1 sends pin. v1 is the current format and the
#: only one Vonage documents for new applications, and its ``workflow`` object (``id``, ``item_number``,
#: ``items_total``) says which message of a failover a status is about. Pinning it, instead of leaving the
#: shape to an account default, means the receiver always knows what arrives (it reads v0.1 as well).
WEBHOOK_VERSION = "v1"
WEBHOOK_VERSIONS = ("v0.1", "v1")


def failover_condition(expiry_time: int = 600, condition_status: str = "read") -> dict[str, Any]:
    """Build the condition that moves a workflow on to the next message.

    Args:
        expiry_time: seconds to wait for ``condition_status``, 15..86400.
        condition_status: ``"read"`` or ``"delivered"`` (SMS never reports ``read``).

    Raises:
        ValidationError: when a value is out of range.
    """
    body = {"expiry_time": expiry_time, "condition_status": condition_status}
    raise_if(failover_problems(body, "failover"))
    return body


def _text_item(channel: str, sender: str, recipient: str, text: str,
               failover: Mapping[str, Any] | None) -> dict[str, Any]:
    known = by_name(channel)  # an unknown channel is reported by the validation that follows
    to_kind, from_kind = (known.to_kind, known.from_kind) if known else ("number", "number")
    item: dict[str, Any] = {
        "from": {"type": channel, address_field(from_kind): sender},
        "to": {"type": channel, address_field(to_kind): recipient},
        "message": {"content": {"type": "text", "text": text}},
    }
    if failover is not None:
        item["failover"] = dict(failover)
    return item


def _checked_item(item: dict[str, Any]) -> dict[str, Any]:
    problems = message_problems(item)
    if "failover" in item:
        problems += failover_problems(item["failover"], "failover")
    raise_if(problems)
    return item


def messenger_item(sender_id: str, recipient_id: str, text: str, *,
                   failover: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a Facebook Messenger text message for a workflow.

    Args:
        sender_id: your Facebook Page id.
        recipient_id: the user's page-scoped id (PSID).
        text: 1..640 characters.
        failover: a ``failover_condition()``; required unless this is the last message.

    Raises:
        ValidationError: listing every problem.
    """
    return _checked_item(_text_item("messenger", sender_id, recipient_id, text, failover))


def sms_item(from_number: str, to_number: str, text: str, *,
             failover: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build an SMS text message for a workflow (numbers in E.164 form without '+').

    Args:
        from_number: the sender: a number, or an alphanumeric sender id of at most 11 characters (e.g. Vonage).
        to_number: the recipient's number.
        text: the message text.
        failover: a ``failover_condition()``; required unless this is the last message.

    Raises:
        ValidationError: listing every problem.
    """
    return _checked_item(_text_item("sms", from_number, to_number, text, failover))


def failover_workflow(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Wrap messages into a Dispatch ``failover`` body; every message but the last needs a failover condition.

    Raises:
        ValidationError: listing every problem with paths like ``workflow[1].failover``.
    """
    return validate_workflow({"template": "failover", "workflow": [dict(i) for i in items]})


def tutorial_workflow(*, from_number: str, to_number: str, fb_sender_id: str, fb_recipient_id: str,
                      text_messenger: str = DEFAULT_TEXT_MESSENGER, text_sms: str = DEFAULT_TEXT_SMS,
                      expiry_time: int = 600, condition_status: str = "read") -> dict[str, Any]:
    """Build the tutorial's body: Messenger first, then SMS if it is not read within ``expiry_time`` seconds.

    Raises:
        ValidationError: listing every problem of both messages at once.
    """
    condition = {"expiry_time": expiry_time, "condition_status": condition_status}
    return validate_workflow({"template": "failover", "workflow": [
        _text_item("messenger", fb_sender_id, fb_recipient_id, text_messenger, condition),
        _text_item("sms", from_number, to_number, text_sms, None),
    ]})


def message_v01(channel: str, from_: str, to: str, text: str,
                client_ref: str | None = None) -> dict[str, Any]:
    """Build a Messages API v0.1 text message (``POST /v0.1/messages``).

    Args:
        channel: a channel of Messages v0.1 (``fbfailover.channels.MESSAGES_V01``) whose content is text.
        from_: page id, Viber service id, number or (SMS) alphanumeric sender, depending on the channel.
        to: PSID or number.
        text: the message text.
        client_ref: up to 40 characters echoed in every status webhook.

    Raises:
        ValidationError: listing every problem.
    """
    body = _text_item(channel, from_, to, text, None)
    if client_ref is not None:
        body["client_ref"] = client_ref
    problems = message_problems(body, api="v0.1")
    reason = client_ref_problem(client_ref, 40)
    raise_if(problems + ([{"name": "client_ref", "reason": reason}] if reason else []))
    return body


def message_v1(channel: str, from_: str, to: str, text: str, *,
               failover: Iterable[Mapping[str, Any]] | Mapping[str, Any] | None = None,
               client_ref: str | None = None, webhook_version: str | None = WEBHOOK_VERSION) -> dict[str, Any]:
    """Build a Messages API v1 text message (``POST /v1/messages``), optionally with failover messages.

    Args:
        channel: a channel of Messages v1 (``fbfailover.channels.MESSAGES_V1``) whose message types include text.
        from_: sender (page id, number or SMS sender id); to: recipient (PSID or number), both plain strings.
        text: the message text.
        failover: complete v1 messages (e.g. from ``message_v1``) tried in order if this one is rejected.
        client_ref: up to 100 characters echoed in status webhooks.
        webhook_version: the shape of this message's status webhooks, ``"v1"`` by default (pinned rather than
            left to the application's setting, see ``WEBHOOK_VERSION``); None leaves it to the application.

    Raises:
        ValidationError: listing every problem, failover messages included.
    """
    body: dict[str, Any] = {"to": to, "from": from_, "channel": channel, "message_type": "text", "text": text}
    if client_ref is not None:
        body["client_ref"] = client_ref
    if webhook_version is not None:
        body["webhook_version"] = webhook_version
    if failover is not None:
        body["failover"] = [dict(failover)] if isinstance(failover, Mapping) else [dict(m) for m in failover]
    raise_if(message_v1_problems(body))
    return body


def application_body(name: str, inbound_url: str, status_url: str,
                     public_key: str | None = None, messages_version: str = WEBHOOK_VERSION) -> dict[str, Any]:
    """Build the Applications API v2 body of a Messages and Dispatch application, its webhook format pinned.

    The Messages webhook format is always written (``capabilities.messages.version``) so the shape of inbound
    webhooks never depends on an account default; ``"v1"`` by default, see ``WEBHOOK_VERSION``. Dispatch's
    own status webhooks stay v0.1 whatever this says (Dispatch is a v0.1 API).

    Args:
        name: the application's name.
        inbound_url: where inbound messages are POSTed.
        status_url: where message status and dispatch reports are POSTed.
        public_key: PEM public key; without it Vonage generates the pair and returns the private key once.
        messages_version: ``"v1"`` or ``"v0.1"``, the shape of the Messages webhooks.

    Raises:
        ValidationError: listing every problem.
    """
    hooks = "capabilities.messages.webhooks"
    body: dict[str, Any] = {"name": name, "capabilities": {"messages": {"webhooks": {
        "inbound_url": {"address": inbound_url, "http_method": "POST"},
        "status_url": {"address": status_url, "http_method": "POST"},
    }, "version": messages_version}}}
    problems = []
    if messages_version not in WEBHOOK_VERSIONS:
        problems.append({"name": "capabilities.messages.version", "reason": "must be one of: v0.1, v1"})
    if not isinstance(name, str) or not name.strip():
        problems.append({"name": "name", "reason": "is required"})
    for key, url in (("inbound_url", inbound_url), ("status_url", status_url)):
        reason = url_problem(url)
        if reason:
            problems.append({"name": f"{hooks}.{key}.address", "reason": reason})
    if public_key is not None:
        if not isinstance(public_key, str) or "-----BEGIN PUBLIC KEY-----" not in public_key:
            problems.append({"name": "keys.public_key",
                             "reason": "must be a PEM public key (-----BEGIN PUBLIC KEY-----)"})
        body["keys"] = {"public_key": public_key}
    raise_if(problems)
    return body


def account_settings_body(mo_callback_url: str | None = None,
                          dr_callback_url: str | None = None) -> dict[str, str]:
    """Build the form of ``POST /account/settings``: account-level inbound and delivery-receipt webhooks.

    Args:
        mo_callback_url: inbound message webhook; "" removes it, None leaves it unchanged.
        dr_callback_url: delivery receipt webhook; same rules.

    Raises:
        ValidationError: when a URL is not http(s).
    """
    form = {k: v for k, v in (("moCallBackUrl", mo_callback_url), ("drCallBackUrl", dr_callback_url))
            if v is not None}
    raise_if([{"name": k, "reason": r} for k, v in form.items() if v != "" and (r := url_problem(v))])
    return form


AuthKind = Literal["jwt", "basic", "query"]


@dataclass(frozen=True)
class Request:
    """One HTTP request, free of secrets: ``auth`` names how credentials are added when it is sent."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    form: Mapping[str, str] | None = None
    params: Mapping[str, Any] | None = None
    auth: AuthKind | None = None

    @property
    def full_url(self) -> str:
        """The URL with ``params`` (never credentials) as query string."""
        return f"{self.url}?{urlencode(self.params)}" if self.params else self.url


def _double_quoted(text: str) -> str:
    return "".join("\\" + c if c in '\\"$`' else c for c in text)


def to_curl(request: Request) -> str:
    """Render the curl command equivalent to ``request``, one option per line.

    Credentials appear as shell variables, never as values: ``$JWT`` for the bearer token and
    ``$VONAGE_API_KEY``/``$VONAGE_API_SECRET`` for the account.

    Returns:
        A command ready to paste into a shell once those variables are exported.
    """
    url = request.full_url
    if request.auth == "query":
        sep = "&" if "?" in url else "?"
        target = f'"{_double_quoted(url)}{sep}api_key=$VONAGE_API_KEY&api_secret=$VONAGE_API_SECRET"'
    else:
        target = shlex.quote(url)
    has_body = request.json is not None or bool(request.form)
    # GET is curl's default; say the method only when curl would not guess it
    plain_get = request.method == "GET" and not has_body
    lines = [f"curl {target}" if plain_get else f"curl -X {request.method} {target}"]
    if request.auth == "jwt":
        lines.append('-H "Authorization: Bearer $JWT"')
    elif request.auth == "basic":
        lines.append('-u "$VONAGE_API_KEY:$VONAGE_API_SECRET"')
    lines += [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in request.headers.items()]
    if request.json is not None:
        lines.append(f"-d {shlex.quote(jsonlib.dumps(request.json, indent=2, ensure_ascii=False))}")
    for k, v in (request.form or {}).items():
        lines.append(f"--data-urlencode {shlex.quote(f'{k}={v}')}")
    return " \\\n  ".join(lines)
