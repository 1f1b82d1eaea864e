"""Helpers for the webhook receiver tests: a webhook signer and typical webhook bodies."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import jwt
import requests

SECRET = "test-signature-secret-0123456789abcdef"


def sign(body: bytes, secret: str = SECRET, *, iat: float | None = None, **claims: Any) -> str:
    """An ``Authorization`` header value signing ``body`` the way Vonage does."""
    payload = {
        "iat": int(time.time() if iat is None else iat),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": "abcd1234",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    }
    payload.update(claims)
    return "Bearer " + jwt.encode(payload, secret, algorithm="HS256")


def post(url: str, body: Any, *, secret: str | None = None, headers: dict[str, str] | None = None,
         **sign_kwargs: Any) -> requests.Response:
    """POST ``body`` as compact JSON, signed when ``secret`` is given."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    all_headers = {"Content-Type": "application/json"}
    if secret is not None:
        all_headers["Authorization"] = sign(raw, secret, **sign_kwargs)
    all_headers.update(headers or {})
    return requests.post(url, data=raw, headers=all_headers, timeout=5)


DISPATCH = "de8d9eaf-8d10-407f-840b-53473f26c173"
MSG_FB = "afb5f546-97e7-44ba-97cd-bb7706a93f4e"
MSG_SMS = "e0830ddc-94c5-4a8f-a5a2-1f8bf0e9cdbb"


def status_body(status: str = "submitted", *, message_uuid: str = MSG_FB, channel: str = "messenger",
                timestamp: str = "2018-10-19T11:33:07.118Z", dispatch_uuid: str | None = DISPATCH,
                **extra: Any) -> dict[str, Any]:
    """A Dispatch/Messages v0.1 status webhook body."""
    address = {"type": channel, "id": "1234567890123456"} if channel == "messenger" else {
        "type": channel, "number": "447700900001"}
    body: dict[str, Any] = {"message_uuid": message_uuid, "to": address, "from": dict(address),
                            "timestamp": timestamp, "status": status}
    if dispatch_uuid:
        link = {"href": f"v0.1/dispatch/{dispatch_uuid}", "dispatch_uuid": dispatch_uuid}
        body["_links"] = {"dispatch": link}
    body.update(extra)
    return body


def final_report_body(status: str = "completed", *, dispatch_uuid: str = DISPATCH,
                      timestamp: str = "2018-10-19T11:43:27.450Z") -> dict[str, Any]:
    """A Dispatch final report body."""
    return {
        "template": "failover", "status": status, "timestamp": timestamp,
        "usage": {"price": "0.0353", "currency": "EUR"}, "dispatch_uuid": dispatch_uuid,
        "_links": {"messages": [
            {"message_uuid": MSG_FB, "href": f"v0.1/messages/{MSG_FB}", "channel": "messenger",
             "status": "delivered"},
            {"message_uuid": MSG_SMS, "href": f"v0.1/messages/{MSG_SMS}", "channel": "sms",
             "usage": {"price": "0.0333", "currency": "EUR"}, "status": "delivered"},
        ]},
    }


INBOUND = {
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "to": {"type": "messenger", "id": "1111111111111111"},
    "from": {"type": "messenger", "id": "2222222222222222"},
    "timestamp": "2020-01-01T14:00:00.000Z",
    "message": {"content": {"type": "text", "text": "Hello from Facebook Messenger!"}},
}

# Messages API v1 shapes (to/from plain strings, channel and message_type at the top level).
PAGE_ID, PSID = "1111111111111111", "2222222222222222"
INBOUND_V1 = {
    "channel": "messenger",
    "message_uuid": "bbbbbbbb-cccc-dddd-eeee-0123456789ab",
    "to": PAGE_ID,
    "from": PSID,
    "timestamp": "2025-08-13T10:00:00Z",
    "message_type": "text",
    "text": "Hello from Facebook Messenger!",
}
INBOUND_SMS_V1 = {
    "channel": "sms", "message_uuid": "cccccccc-dddd-eeee-ffff-0123456789ab", "to": "447700900000",
    "from": "447700900001", "timestamp": "2025-08-13T10:00:00Z", "message_type": "text", "text": "Hi",
    "sms": {"num_messages": "1"}, "usage": {"currency": "EUR", "price": "0.0057"},
}


def status_v1(status: str = "submitted", *, message_uuid: str = MSG_FB, channel: str = "messenger",
              timestamp: str = "2025-08-13T10:00:05Z", workflow: dict[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    """A Messages API v1 status webhook body (``workflow`` when the message is part of a failover)."""
    to, frm = (PSID, PAGE_ID) if channel == "messenger" else ("447700900001", "447700900000")
    body: dict[str, Any] = {"message_uuid": message_uuid, "to": to, "from": frm, "timestamp": timestamp,
                            "status": status, "channel": channel}
    if workflow is not None:
        body["workflow"] = workflow
    body.update(extra)
    return body
