"""Webhook bodies in the shapes Vonage sends: message statuses (v0.1 with the dispatch link, v1 with the failover
workflow), the Dispatch final report, inbound messages (v0.1 or v1, by the application's webhook version), and an
inbound SMS at the account-level URL in the SMS API's own format, signed with its ``sig`` parameter.

Timestamps are kept close to the wall clock: a webhook's ``timestamp`` is the real time its dispatch (or message,
outside a dispatch) started, plus the simulated seconds since (``shown``). The sandbox's clock itself runs 600
times faster for as long as it runs, so its raw time drifts days ahead; each dispatch carries its ``offset`` (real
start minus simulated start) instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from fbfailover.channels import ERROR_CODES, by_name

__all__ = ["SMS_SIGNATURE_METHOD", "address_v01", "anchor", "final_report", "inbound", "inbound_sms", "iso", "shown",
           "sms_sig", "status_body"]

#: How the sandbox signs SMS API callbacks: an HMAC-SHA256 of the sorted parameters keyed with the signature secret
#: (one of the dashboard's "signature method" choices; a receiver that does not know the setting tries them all).
SMS_SIGNATURE_METHOD = "sha256"
_GSM7 = re.compile(r"[A-Za-z0-9 @£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,\-./:;<=>?¡ÄÖÑÜ§¿äöñüà\n\r^{}\\\[~\]|€]*")

# A per-workflow fee added to the final report's usage: the one live capture showed the workflow costing
# 0.0020 EUR more than its delivered message. Invented but consistent.
DISPATCH_FEE = Decimal("0.0020")


_seconds: dict[int, str] = {}  # second -> "YYYY-MM-DDTHH:MM:SS.": simulated and real time alternate
_MILLIS = [f"{ms:03d}Z" for ms in range(1000)]


def iso(sim: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, as in Vonage webhooks."""
    whole = int(sim // 1)
    prefix = _seconds.get(whole)
    if prefix is None:  # formatting is the costly part
        if len(_seconds) >= 64:
            _seconds.clear()
        prefix = _seconds[whole] = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))
    ms = round((sim - whole) * 1000)
    return prefix + _MILLIS[ms if ms < 1000 else 999]


def anchor(at: float) -> float:
    """The ``offset`` of a dispatch or message that starts at simulated time ``at``: real now minus ``at``."""
    return time.time() - at


def shown(at: float, doc: dict) -> str:
    """Simulated time ``at`` as the timestamp of ``doc`` (a dispatch or message) shows it: plus its ``offset``."""
    return iso(at + doc.get("offset", 0.0))


def address_v01(channel: str, ident: str, side: str = "to") -> dict:
    """``{"type": channel, "number"|"id": ident}``: the v0.1 address of one side (``to``/``from``) of a message."""
    found = by_name(channel)
    if found is None:
        return {"type": channel, "id": ident}
    return {"type": found.name, found.kind(side).field: ident}


def _error_v01(code: int) -> dict:
    return {"code": code, "reason": ERROR_CODES.get(code, "Unknown")}


def _error_v1(code: int) -> dict:
    return {
        "type": f"https://developer.vonage.com/api-errors/messages#{code}",
        "title": code,
        "detail": ERROR_CODES.get(code, "Unknown"),
        "instance": str(uuid.uuid4()),
    }


def status_body(msg: dict, entry: dict) -> dict:
    """The status webhook of ``msg`` for one history ``entry`` (``status``, ``at_unix``, ``error_code``?)."""
    status, at = entry["status"], entry["at_unix"]
    if msg["webhook_version"] == "v1":
        body: dict[str, Any] = {
            "message_uuid": msg["uuid"],
            "to": msg["to"],
            "from": msg["from"],
            "timestamp": shown(at, msg),
            "status": status,
            "channel": msg["channel"],
        }
        if msg.get("client_ref"):
            body["client_ref"] = msg["client_ref"]
        if entry.get("usage"):
            body["usage"] = entry["usage"]
        if entry.get("error_code"):
            body["error"] = _error_v1(entry["error_code"])
        if msg.get("workflow"):
            body["workflow"] = msg["workflow"]
        return body
    to, frm = msg["to"], msg["from"]
    if isinstance(to, str):  # a v1 message asking for v0.1 webhooks
        to, frm = address_v01(msg["channel"], to, "to"), address_v01(msg["channel"], frm, "from")
    body = {"message_uuid": msg["uuid"], "to": to, "from": frm, "timestamp": shown(at, msg), "status": status}
    if entry.get("usage"):
        body["usage"] = entry["usage"]
    if entry.get("error_code"):
        body["error"] = _error_v01(entry["error_code"])
    if msg.get("client_ref"):
        body["client_ref"] = msg["client_ref"]
    if msg.get("dispatch_uuid") and msg.get("link") == "dispatch":
        body["_links"] = {
            "dispatch": {
                "href": f"v0.1/dispatch/{msg['dispatch_uuid']}",
                "dispatch_uuid": msg["dispatch_uuid"],
            }
        }
    elif msg.get("dispatch_uuid") and msg.get("link") == "workflow":
        body["_links"] = {
            "workflow": {
                "href": f"beta/workflows/{msg['dispatch_uuid']}",
                "workflow_uuid": msg["dispatch_uuid"],
            }
        }
    return body


def final_report(dispatch: dict, messages: list[dict], at: float) -> dict:
    """The one final report of a dispatch: its status, total usage and every message's last status."""
    links = []
    total = DISPATCH_FEE
    for msg in messages:
        link: dict[str, Any] = {
            "message_uuid": msg["uuid"],
            "href": f"v0.1/messages/{msg['uuid']}",
            "channel": msg["channel"],
        }
        if msg.get("usage"):
            link["usage"] = msg["usage"]
            total += Decimal(msg["usage"]["price"])
        link["status"] = msg["status"]
        links.append(link)
    key = "workflow_uuid" if dispatch["kind"] == "workflow" else "dispatch_uuid"
    return {
        "template": dispatch["template"],
        "status": dispatch["status"],
        "timestamp": shown(at, dispatch),
        "usage": {"price": f"{total:.4f}", "currency": "EUR"},
        key: dispatch["uuid"],
        "_links": {"messages": links},
    }


def inbound(version: str, message_uuid: str, channel: str, sender: str, recipient: str, text: str,
            at: float) -> dict:
    """An inbound message as the Messages API delivers it to an inbound URL, in the shape of ``version``.

    ``at`` is the time its ``timestamp`` shows (a user writes now: the caller passes the real time).

    v0.1 (objects): ``to``/``from`` are ``{type, id|number}`` and the text is in ``message.content``; v1 (flat):
    ``to``/``from`` are strings and ``channel``, ``message_type`` and ``text`` are top-level fields.
    """
    found = by_name(channel)
    if version == "v1":
        body: dict[str, Any] = {
            "channel": found.v1_name if found and found.v1_name else channel,
            "message_uuid": message_uuid,
            "to": recipient,
            "from": sender,
            "timestamp": iso(at),
            "message_type": "text",
            "text": text,
        }
        if found and found.inbound_extra:
            body[found.v1_name or found.name] = dict(found.inbound_extra)
        return body
    # A user writes *to* the page or number: the page is addressed like the channel's sender, the user like its
    # recipient.
    body = {
        "message_uuid": message_uuid,
        "to": address_v01(channel, recipient, "from"),
        "from": address_v01(channel, sender, "to"),
        "timestamp": iso(at),
        "message": {"content": {"type": "text", "text": text}},
    }
    if found and found.inbound_extra:
        body["message"][found.name] = dict(found.inbound_extra)
    return body


def sms_sig(params: dict[str, str], secret: str) -> str:
    """The SMS API's ``sig``: every parameter but ``sig``, sorted by name, written ``&name=value`` (``&`` and ``=``
    inside a value become ``_``), then HMAC-SHA256 keyed with the signature secret, as hex."""
    data = "".join(f"&{k}={str(params[k]).replace('&', '_').replace('=', '_')}" for k in sorted(params) if k != "sig")
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha256).hexdigest()


def inbound_sms(api_key: str, signature_secret: str, sender: str, recipient: str, text: str, at: float) -> dict:
    """An inbound SMS as the SMS API delivers it to the account's ``moCallBackUrl`` (a number linked to no
    application): ``msisdn`` (the sender), ``to`` (your number), ``messageId``, ``text``, ``type``, ``keyword``,
    ``message-timestamp`` and ``api-key``, all strings; signed with ``timestamp``, ``nonce`` and ``sig``.

    ``at`` is the real time the user wrote (the ``message-timestamp`` and the signature's ``timestamp``).
    """
    words = text.split()
    params = {
        "msisdn": sender,
        "to": recipient,
        "messageId": secrets.token_hex(8).upper(),
        "text": text,
        "type": "text" if _GSM7.fullmatch(text) else "unicode",
        "keyword": words[0].upper() if words else "",
        "message-timestamp": datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "api-key": api_key,
        "timestamp": str(int(at)),
        "nonce": str(uuid.uuid4()),
    }
    params["sig"] = sms_sig(params, signature_secret)
    return params
