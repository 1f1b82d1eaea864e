"""How channels and recipients behave: delivery delays, prices and the status steps of one message.

A message is ``submitted`` at once, then moves to ``delivered`` (and ``read`` on chat channels) or to
``rejected`` / ``undeliverable`` after the delays of its recipient's rule (``PUT /_sandbox/recipients/...``).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_DELAYS",
    "DEFAULT_ERRORS",
    "DEFAULT_READ_AFTER",
    "ERROR_CODES",
    "FAILED",
    "PRICES",
    "normalise_channel",
    "plan",
    "v1_fields",
]

# Documented asynchronous error codes of the Messages API (code -> short reason).
ERROR_CODES: dict[int, str] = {
    1000: "Throttled",
    1010: "Missing params",
    1020: "Invalid params",
    1021: "Invalid tag",
    1022: "Invalid template",
    1030: "Internal error",
    1040: "Invalid message",
    1050: "Number barred",
    1060: "Partner account barred",
    1070: "Partner quota exceeded",
    1080: "Account not enabled for REST",
    1090: "Message too long",
    1100: "Communication Failed",
    1110: "Invalid Signature",
    1120: "Illegal Sender Address - rejected",
    1130: "Invalid TTL",
    1140: "Facility not allowed",
    1150: "Invalid Message class",
    1160: "Non White-listed Destination",
    1170: "Invalid or Missing Msisdn Param",
    1180: "Absent Subscriber Temporary",
    1190: "Absent Subscriber Permanent",
    1200: "Portability Error",
    1210: "Anti-Spam Rejection",
    1220: "Handset Busy",
    1230: "Network Error",
    1240: "Illegal Number",
    1241: "Too many send requests",
    1250: "Unroutable",
    1260: "Destination unreachable",
    1270: "Subscriber Age Restriction",
    1280: "Number Blocked by Carrier",
    1290: "Pre-Paid - Insufficient funds",
    1300: "Not part of the provider network",
    1310: "Not suitable device",
    1320: "Message already sent",
    1330: "Unknown",
    1331: "Provider error",
    1340: "Outside of the allowed window",
    1350: "Phone matching fee not paid",
    1360: "TTL was activated",
    1370: "Expired access Token",
    1380: "Invalid resource",
    1381: "Resource size is too large",
    1382: "Resource type is invalid",
}

# Simulated seconds from submission to "delivered" when the recipient has no rule.
DEFAULT_DELAYS = {
    "sms": 2.0,
    "mms": 3.0,
    "messenger": 1.0,
    "whatsapp": 1.0,
    "viber_service_msg": 1.0,
    "rcs": 1.0,
}
DEFAULT_READ_AFTER = 5.0
DEFAULT_ERRORS = {"rejected": 1300, "undeliverable": 1260}
PRICES = {
    "sms": "0.0333",
    "mms": "0.0400",
    "messenger": "0.0050",
    "whatsapp": "0.0050",
    "viber_service_msg": "0.0100",
    "rcs": "0.0050",
}
FAILED = ("rejected", "undeliverable")


def normalise_channel(channel: str) -> str:
    """v1 says ``viber_service`` where v0.1 says ``viber_service_msg``; rules use the v0.1 name."""
    return "viber_service_msg" if channel == "viber_service" else channel


def plan(channel: str, rule: dict | None) -> list[tuple[float, str, int | None]]:
    """The status steps after ``submitted``: ``(delay, status, error_code)``."""
    channel = normalise_channel(channel)
    delivered_after = DEFAULT_DELAYS.get(channel, 1.0)
    if rule is None:
        return [(delivered_after, "delivered", None)]
    outcome, after = rule["outcome"], rule.get("after")
    if outcome == "read":
        after = DEFAULT_READ_AFTER if after is None else float(after)
        return [(min(delivered_after, after), "delivered", None), (after, "read", None)]
    if outcome == "delivered":
        return [(delivered_after if after is None else float(after), "delivered", None)]
    default_after = 0.0 if outcome == "rejected" else delivered_after
    code = rule.get("error_code") or DEFAULT_ERRORS[outcome]
    return [(default_after if after is None else float(after), outcome, code)]


def v1_fields(item: dict) -> dict:
    """The parts of a v1 message a status webhook needs."""
    return {
        "api": "v1",
        "webhook_version": item.get("webhook_version", "v1"),
        "channel": item["channel"],
        "to": item["to"],
        "from": item["from"],
        "client_ref": item.get("client_ref"),
        "webhook_url": item.get("webhook_url"),
    }
