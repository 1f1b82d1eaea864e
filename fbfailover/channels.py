"""THE channel table: what each messaging channel is, in one place.

Both sides read it: the helpers' validation (``fbfailover.validation``) and the offline sandbox (its JSON
Schemas' enums, ranges and options objects, validation, simulated delays and status steps, prices, webhook
address shapes and bodies, control endpoints), and the tutorial (its twins' SDK classes, who a message is
addressed to). The contract test ``tests/test_channel_contract.py`` sends every case the table implies to both
and checks that they agree, so a disagreement between the helpers and the sandbox cannot creep back in.

Adding a channel is one ``Channel(...)`` entry below (and an ``AddressKind`` if it addresses people in a way of
its own) plus tests; ``tests/sandbox/test_add_a_channel.py`` adds a made-up one in the test alone, with
``extended()``, and the sandbox README's "Add a channel" walks through it.

Pure data: no I/O, no third-party imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

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
    "AddressKind",
    "Channel",
    "Options",
    "TableMapping",
    "TableSequence",
    "by_name",
    "extended",
    "version",
]

#: The longest id (a Messenger PSID or page id, a Viber service id...) and the longest address of any kind.
ID_MAX = 50
#: An E.164 number as the APIs want it: digits, country code first, no ``+`` or ``00``.
NUMBER = re.compile(r"[1-9][0-9]{6,14}")
#: An SMS sender: such a number, or up to 11 letters, digits and spaces with at least one letter.
SENDER = re.compile(r"[1-9][0-9]{6,14}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11}")

#: Failover conditions and the allowed expiry, in seconds (Dispatch ``failover``).
CONDITION_STATUSES = ("delivered", "read")
EXPIRY_RANGE = (15, 86_400)


@dataclass(frozen=True)
class AddressKind:
    """How a channel addresses a person or a sender.

    Attributes:
        name: what ``Channel.to_kind`` / ``from_kind`` call it.
        field: the field of a v0.1 address object (``{"type": ..., <field>: ...}``) that holds it.
        pattern: what a valid address matches in full; None: any 1..``ID_MAX`` characters.
        reason: why an address that does not match is refused (the sandbox's wording).
        sample: an address the sandbox uses when it must make one up (an inbound message from nobody named);
            None: made-up digits (a UK mobile number for a pattern, an id of digits without one).
    """

    name: str
    field: str
    pattern: re.Pattern[str] | None = None
    reason: str = f"must be 1 to {ID_MAX} characters"
    sample: str | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not an address of this kind, or None (lengths of ids are the schema's to check)."""
        if self.pattern is None:
            return None
        return None if isinstance(value, str) and self.pattern.fullmatch(value) else self.reason


_BUILT_IN_KINDS = (
    AddressKind("number", "number", NUMBER, "must be an E.164 number without a leading + or 00, e.g. 447700900000"),
    AddressKind("sender", "number", SENDER, "must be an E.164 number without + or 00, or an alphanumeric sender id "
                                            "of at most 11 characters"),
    AddressKind("id", "id"),
)


@dataclass(frozen=True)
class Options:
    """A channel's own options object: ``message.<name>`` in a v0.1 message, ``<v1 name>`` in a v1 message.

    Attributes:
        v01: the JSON Schema of each field in v0.1 (``{}``: any object), or None when v0.1 has no such object.
        v1: the same in v1.
        required_when: ``(field, value, required)``: when ``field`` is ``value``, ``required`` must be given.
    """

    v01: Mapping[str, Mapping[str, Any]] | None = None
    v1: Mapping[str, Mapping[str, Any]] | None = None
    required_when: tuple[tuple[str, Any, str], ...] = ()

    def problems(self, given: Any) -> list[tuple[str, str]]:
        """``(field, reason)`` for every ``required_when`` rule the options object ``given`` breaks."""
        if not isinstance(given, Mapping):
            return []
        return [(required, f"is required when {name} is {value}") for name, value, required in self.required_when
                if given.get(name) == value and not given.get(required)]


@dataclass(frozen=True)
class Channel:
    """One channel and everything the tutorial's APIs and the sandbox need to know about it.

    Attributes:
        name: the name in Dispatch and Messages v0.1 (``to.type``), also used by recipient rules.
        v1_name: the name in Messages v1 (``channel``), or None when v1 does not offer it.
        in_dispatch: whether a Dispatch workflow item may use it.
        to_kind: how the recipient is addressed: an ``AddressKind`` name (``"number"``: E.164 digits, ``"id"``:
            a page or user id).
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
        options: the channel's own options object, if any.
        inbound_extra: what an inbound message of the channel carries in an object named after it (SMS:
            ``{"num_messages": "1"}``, the parts it arrived in).
        inbound_without_application: the API that delivers an inbound message to a number linked to no
            application (to the account's ``moCallBackUrl``, in that API's own format), or None.
        sdk_text_class: the class of a text message of this channel in the Python SDK (``vonage-messages``).
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
    options: Options | None = None
    inbound_extra: Mapping[str, str] = field(default_factory=dict)
    inbound_without_application: str | None = None
    sdk_text_class: str | None = None

    def content(self, api: str) -> tuple[str, ...]:
        """The content (v0.1) or message (v1) types of ``api`` (``"v0.1"`` or ``"v1"``)."""
        return self.v1_content if api == "v1" else self.v01_content

    def api_name(self, api: str) -> str:
        """Its name in ``api`` (``"v1"``, else the v0.1 / Dispatch name)."""
        return (self.v1_name or self.name) if api == "v1" else self.name

    def kind(self, side: str) -> AddressKind:
        """The address kind of ``side`` (``"to"`` or ``"from"``)."""
        return ADDRESS_KINDS[self.to_kind if side == "to" else self.from_kind]

    @property
    def addresses_people_by_id(self) -> bool:
        """Whether its recipients are ids (a page-scoped id, ...) rather than phone numbers."""
        return self.to_kind == "id"


_MESSENGER_OPTIONS = {
    "category": {"enum": ["response", "update", "message_tag"]},
    "tag": {"type": "string", "minLength": 1},
}

_BUILT_IN: tuple[Channel, ...] = (
    Channel(
        name="sms", v1_name="sms", in_dispatch=True, to_kind="number", from_kind="sender",
        v01_content=("text",), v1_content=("text", "custom"), text_max=1000,
        delivered_after=2.0, readable=False, price="0.0333", charged_at="submitted",
        options=Options(v1={}), inbound_extra={"num_messages": "1"}, inbound_without_application="sms",
        sdk_text_class="Sms",
    ),
    Channel(
        name="mms", v1_name="mms", in_dispatch=True, to_kind="number", from_kind="number",
        v01_content=("image",), v1_content=("text", "image", "vcard", "audio", "video", "file"), text_max=1000,
        delivered_after=3.0, readable=False, price="0.0400", charged_at="submitted", sdk_text_class="MmsText",
    ),
    Channel(
        name="messenger", v1_name="messenger", in_dispatch=True, to_kind="id", from_kind="id",
        v01_content=("text", "image", "audio", "video", "file"), v1_content=("text", "image", "audio", "video", "file"),
        text_max=640, delivered_after=1.0, readable=True, price="0.0050",
        options=Options(v01=_MESSENGER_OPTIONS, v1=_MESSENGER_OPTIONS,
                        required_when=(("category", "message_tag", "tag"),)),
        sdk_text_class="MessengerText",
    ),
    Channel(
        name="viber_service_msg", v1_name="viber_service", in_dispatch=True, to_kind="number", from_kind="id",
        v01_content=("text", "image"), v1_content=("text", "image", "video", "file"), text_max=1000,
        delivered_after=1.0, readable=True, price="0.0100",
        options=Options(v01={"category": {"enum": ["transaction", "promotion"]},
                             "ttl": {"type": "integer", "minimum": 30, "maximum": 86400}}, v1={}),
        sdk_text_class="ViberText",
    ),
    Channel(
        name="whatsapp", v1_name="whatsapp", in_dispatch=True, to_kind="number", from_kind="number",
        v01_content=("text", "image", "audio", "video", "file", "template", "custom"),
        v1_content=("text", "image", "audio", "video", "file", "template", "custom", "sticker"), text_max=4096,
        delivered_after=1.0, readable=True, price="0.0050",
        options=Options(v01={"policy": {"enum": ["deterministic", "fallback"]},
                             "locale": {"type": "string", "minLength": 2}}, v1={}),
        sdk_text_class="WhatsappText",
    ),
    Channel(
        name="rcs", v1_name="rcs", in_dispatch=False, to_kind="number", from_kind="id",
        v01_content=(), v1_content=("text", "image", "video", "file", "custom"), text_max=3072,
        delivered_after=1.0, readable=True, price="0.0050", options=Options(v1={}), sdk_text_class="RcsText",
    ),
)

# -- the live table: the built-in rows, and any a test adds with ``extended()`` ----------------------------------
_rows: list[Channel] = list(_BUILT_IN)
_kinds: dict[str, AddressKind] = {k.name: k for k in _BUILT_IN_KINDS}
_version = [0]
T = TypeVar("T")


def version() -> int:
    """A number that changes whenever the table does (caches of what is derived from it key on it)."""
    return _version[0]


class _Derived(Generic[T]):
    """Something computed from the table, recomputed when the table changes."""

    def __init__(self, compute: Callable[[], T]):
        self._compute = compute
        self._cached: tuple[int, T] | None = None

    def value(self) -> T:
        if self._cached is None or self._cached[0] != _version[0]:
            self._cached = (_version[0], self._compute())
        return self._cached[1]


class TableSequence(Sequence[T]):
    """A tuple drawn from the channel table, always up to date (``list()`` it for a snapshot)."""

    def __init__(self, compute: Callable[[], tuple[T, ...]]):
        self._derived = _Derived(compute)

    def __getitem__(self, index: Any) -> Any:
        return self._derived.value()[index]

    def __len__(self) -> int:
        return len(self._derived.value())

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(self._derived.value())


K = TypeVar("K")
V = TypeVar("V")


class TableMapping(Mapping[K, V]):
    """A dict drawn from the channel table, always up to date."""

    def __init__(self, compute: Callable[[], dict[K, V]]):
        self._derived = _Derived(compute)

    def __getitem__(self, key: K) -> V:
        return self._derived.value()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._derived.value())

    def __len__(self) -> int:
        return len(self._derived.value())

    def __repr__(self) -> str:
        return repr(self._derived.value())


#: Every channel, in table order.
CHANNELS: TableSequence[Channel] = TableSequence(lambda: tuple(_rows))
#: Address kinds by name.
ADDRESS_KINDS: TableMapping[str, AddressKind] = TableMapping(lambda: dict(_kinds))
_BY_NAME: TableMapping[str, Channel] = TableMapping(
    lambda: {c.name: c for c in _rows} | {c.v1_name: c for c in _rows if c.v1_name})


def by_name(name: object) -> Channel | None:
    """The channel called ``name`` in any API (``viber_service`` and ``viber_service_msg`` are one), or None."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


#: Channel names per API, in table order.
DISPATCH: TableSequence[str] = TableSequence(lambda: tuple(c.name for c in _rows if c.in_dispatch))
MESSAGES_V01: TableSequence[str] = TableSequence(lambda: tuple(c.name for c in _rows if c.v01_content))
MESSAGES_V1: TableSequence[str] = TableSequence(lambda: tuple(c.v1_name for c in _rows if c.v1_name))


@contextmanager
def extended(*added: Channel, kinds: Sequence[AddressKind] = ()) -> Iterator[None]:
    """The table with ``added`` channels (and address ``kinds``) for the duration of a ``with`` block.

    What adding a row to the table does, without editing this file: the tests use it to show that a new channel
    needs nothing but its row.

    Raises:
        ValueError: a name is taken, or a channel names an address kind that does not exist.
    """
    names = {n for c in _rows for n in (c.name, c.v1_name) if n}
    for kind in kinds:
        if kind.name in _kinds:
            raise ValueError(f"address kind {kind.name!r} exists")
    known = set(_kinds) | {k.name for k in kinds}
    for channel in added:
        if channel.name in names or channel.v1_name in names:
            raise ValueError(f"channel {channel.name!r} exists")
        if {channel.to_kind, channel.from_kind} - known:
            raise ValueError(f"channel {channel.name!r} names an unknown address kind")
    rows, saved_kinds = list(_rows), dict(_kinds)
    _rows.extend(added)
    _kinds.update({k.name: k for k in kinds})
    _version[0] += 1
    try:
        yield
    finally:
        _rows[:] = rows
        _kinds.clear()
        _kinds.update(saved_kinds)
        _version[0] += 1


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
