"""THE channel table: what each messaging channel is, in one place.

Both sides read it: the helpers' validation (``fbfailover.validation``) and the offline sandbox (its JSON
Schemas, validation, simulated delays and status steps, prices, webhook address shapes and control endpoints).
The contract test ``tests/test_channel_contract.py`` sends every case the table implies to both and checks that
they agree, so a disagreement between the helpers and the sandbox cannot creep back in.

Adding a channel is one ``Channel(...)`` entry below plus tests (see the sandbox README, "Add a channel").

Pure data: no I/O, no third-party imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ADDRESS_KINDS",
    "CHANNELS",
    "CONDITION_STATUSES",
    "DEFAULT_ERRORS",
    "DEFAULT_READ_AFTER",
    "DISPATCH",
    "ERROR_CODES",
    "EXPIRY_RANGE",
    "FAILED",
    "ID_MAX",
    "MESSAGES_V01",
    "MESSAGES_V1",
    "NUMBER",
    "SENDER",
    "V1_FAILS_OVER_ON",
    "Channel",
    "by_name",
]


@dataclass(frozen=True)
class Channel:
    """One channel and everything the tutorial's APIs and the sandbox need to know about it.

    Attributes:
        name: the name in Dispatch and Messages v0.1 (``to.type``), also used by recipient rules.
        v1_name: the name in Messages v1 (``channel``), or None when v1 does not offer it.
        in_dispatch: whether a Dispatch workflow item may use it.
        to_kind: how the recipient is addressed: ``"number"`` (E.164 digits) or ``"id"`` (a page or user id).
        from_kind: how the sender is addressed: ``"number"``, ``"id"`` or ``"sender"`` (an E.164 number or an
            alphanumeric sender id of at most 11 characters, as SMS allows).
        v01_content: content types of Dispatch / Messages v0.1 (``message.content.type``).
        v1_content: message types of Messages v1 (``message_type``).
        text_max: the longest text, in characters.
        delivered_after: simulated seconds from submission to ``delivered`` when a recipient has no rule.
        readable: whether the channel reports ``read`` (chat apps do, SMS and MMS never).
        price: the sandbox's price per message, in EUR (a string, as in webhooks).
        charged_at: the status at which the message is charged, whose webhook carries ``usage``: ``submitted``
            for SMS and MMS, ``delivered`` for the chat apps and RCS (Vonage's "Messages API status callbacks").
        options: the name of the channel's own options object in a v0.1 message and in v1, if any.
    """

    name: str
    v1_name: str | None
    in_dispatch: bool
    to_kind: str
    from_kind: str
    v01_content: tuple[str, ...]
    v1_content: tuple[str, ...]
    text_max: int
    delivered_after: float
    readable: bool
    price: str
    charged_at: str = "delivered"
    options: str | None = None

    def content(self, api: str) -> tuple[str, ...]:
        """The content (v0.1) or message (v1) types of ``api`` (``"v0.1"`` or ``"v1"``)."""
        return self.v1_content if api == "v1" else self.v01_content


CHANNELS: tuple[Channel, ...] = (
    Channel(
        name="sms", v1_name="sms", in_dispatch=True, to_kind="number", from_kind="sender",
        v01_content=("text",), v1_content=("text", "custom"), text_max=1000,
        delivered_after=2.0, readable=False, price="0.0333", charged_at="submitted",
    ),
    Channel(
        name="mms", v1_name="mms", in_dispatch=True, to_kind="number", from_kind="number",
        v01_content=("image",), v1_content=("text", "image", "vcard", "audio", "video", "file"), text_max=1000,
        delivered_after=3.0, readable=False, price="0.0400", charged_at="submitted",
    ),
    Channel(
        name="messenger", v1_name="messenger", in_dispatch=True, to_kind="id", from_kind="id",
        v01_content=("text", "image", "audio", "video", "file"), v1_content=("text", "image", "audio", "video", "file"),
        text_max=640, delivered_after=1.0, readable=True, price="0.0050", options="messenger",
    ),
    Channel(
        name="viber_service_msg", v1_name="viber_service", in_dispatch=True, to_kind="number", from_kind="id",
        v01_content=("text", "image"), v1_content=("text", "image", "video", "file"), text_max=1000,
        delivered_after=1.0, readable=True, price="0.0100", options="viber_service_msg",
    ),
    Channel(
        name="whatsapp", v1_name="whatsapp", in_dispatch=True, to_kind="number", from_kind="number",
        v01_content=("text", "image", "audio", "video", "file", "template", "custom"),
        v1_content=("text", "image", "audio", "video", "file", "template", "custom", "sticker"), text_max=4096,
        delivered_after=1.0, readable=True, price="0.0050", options="whatsapp",
    ),
    Channel(
        name="rcs", v1_name="rcs", in_dispatch=False, to_kind="number", from_kind="id",
        v01_content=(), v1_content=("text", "image", "video", "file", "custom"), text_max=3072,
        delivered_after=1.0, readable=True, price="0.0050",
    ),
)

_BY_NAME = {c.name: c for c in CHANNELS} | {c.v1_name: c for c in CHANNELS if c.v1_name}


def by_name(name: object) -> Channel | None:
    """The channel called ``name`` in any API (``viber_service`` and ``viber_service_msg`` are one), or None."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


#: Channel names per API, in table order.
DISPATCH: tuple[str, ...] = tuple(c.name for c in CHANNELS if c.in_dispatch)
MESSAGES_V01: tuple[str, ...] = tuple(c.name for c in CHANNELS if c.v01_content)
MESSAGES_V1: tuple[str, ...] = tuple(c.v1_name for c in CHANNELS if c.v1_name)

#: An E.164 number as the APIs want it: digits, country code first, no ``+`` or ``00``.
NUMBER = re.compile(r"[1-9][0-9]{6,14}")
#: An SMS sender: such a number, or up to 11 letters, digits and spaces with at least one letter.
SENDER = re.compile(r"[1-9][0-9]{6,14}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11}")
ID_MAX = 50
ADDRESS_KINDS = ("number", "id", "sender")

#: Failover conditions and the allowed expiry, in seconds (Dispatch ``failover``).
CONDITION_STATUSES = ("delivered", "read")
EXPIRY_RANGE = (15, 86_400)

#: The statuses that end a message without delivery; a Dispatch workflow moves on at any of them. The sandbox
#: produces the first two; ``failed`` is how some channels report other failures.
FAILED = ("rejected", "undeliverable", "failed")
#: The statuses at which a Messages API v1 failover moves on to the next message: ``rejected`` only, as Vonage's
#: failover guide and its Dispatch-to-Messages migration guide say ("fail over logic based on message being
#: rejected"). An ``undeliverable`` message (Vonage could not reach the provider) ends the workflow: the SMS fallback
#: does not cover outages.
V1_FAILS_OVER_ON = ("rejected",)
DEFAULT_READ_AFTER = 5.0
DEFAULT_ERRORS = {"rejected": 1300, "undeliverable": 1260}

#: Documented asynchronous error codes of the Messages API (code -> short reason).
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
