"""The sandbox's three documents, typed and built in one place each: a dispatch (or workflow, or v1 failover), a
message, and a webhook delivery.

A leaf of the sandbox's import graph: times come in already formatted. ``records.py`` keeps the documents (as
JSON); ``failover.py``, ``messages.py`` and ``webhook_delivery.py`` change them as their timers fire. Reading a field
that is not listed here is a bug a type checker can name.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = ["Delivery", "Dispatch", "Message", "new_delivery", "new_dispatch", "new_message"]


class Expiry(TypedDict):
    """The failover deadline of a dispatch's current item."""

    item: int
    deadline: str
    deadline_unix: float
    timer: int
    condition_status: str


class Dispatch(TypedDict):
    """A Dispatch API dispatch, a beta workflow or a Messages v1 failover (``kind``: dispatch | workflow | v1)."""

    uuid: str
    account_id: int
    application_id: str | None
    auth: str
    kind: str
    template: str
    items: list[dict]
    current: int
    status: str  # in_progress | completed | error
    created: float
    created_real: str
    offset: float  # its timestamps: real start + simulated seconds since
    expiry: Expiry | None
    messages: list[str]
    final_report: dict | None
    finished: str | None
    events: list[dict]


# "from" is a keyword: the functional form of TypedDict.
Message = TypedDict(
    "Message",
    {
        "uuid": str,
        "account_id": int,
        "application_id": "str | None",
        "auth": str,
        "api": str,  # v0.1 | v1
        "webhook_version": str,  # the shape of its status webhooks: v0.1 | v1
        "channel": str,
        "to": Any,  # v0.1: {type, number|id}; v1: a string
        "from": Any,
        "client_ref": "str | None",
        "webhook_url": "str | None",
        "dispatch_uuid": str,  # a message of a dispatch or workflow
        "item": int,
        "link": str,  # v0.1 statuses link to their "dispatch" or "workflow"
        "workflow": dict,  # v1 failover: {id, item_number, items_total}
        "offset": float,
        "created": float,
        "status": str,
        "usage": "dict | None",
        "error_code": "int | None",
        "history": "list[dict]",
    },
    total=False,
)


class Delivery(TypedDict):
    """One webhook: where it goes, what it carries the id of, and every attempt made."""

    kind: str  # status | final_report | inbound | inbound_sms
    url: str
    status: str  # pending | delivered | failed | gave_up | no_url
    application_id: str | None
    dispatch_uuid: str | None
    message_uuid: str | None
    created: str
    created_unix: float
    first_attempt_unix: float | None
    next_attempt: str | None
    attempts: list[dict]


def new_dispatch(uuid: str, account_id: int, application_id: str | None, auth: str, kind: str, items: list[dict],
                 at: float, *, offset: float, created_real: str, template: str = "failover") -> Dispatch:
    """A dispatch in progress, started at simulated time ``at``, with no message sent yet.

    Args:
        offset: real start minus simulated start (``bodies.anchor``): its timestamps are real start + simulated
            seconds since. created_real: the real time it started, as its timestamps show it.
    """
    return {
        "uuid": uuid,
        "account_id": account_id,
        "application_id": application_id,
        "auth": auth,
        "kind": kind,
        "template": template,
        "items": items,
        "current": 0,
        "status": "in_progress",
        "created": at,
        "created_real": created_real,
        "offset": offset,
        "expiry": None,
        "messages": [],
        "final_report": None,
        "finished": None,
        "events": [],
    }


def new_message(account_id: int, application_id: str | None, auth: str, body: dict, *,
                api: Literal["v0.1", "v1"], webhook_version: str = "v0.1", **part_of: Any) -> Message:
    """The message a send asks for, before it is submitted (``Messages.submit`` adds uuid, status and history).

    Args:
        body: a v0.1 message or dispatch item (``to.type``, ``to``, ``from``...) or a flat v1 message.
        api: which of the two ``body`` is.
        webhook_version: the shape of its status webhooks (always v0.1 for a v0.1 message).
        part_of: what ties it to a dispatch (``dispatch_uuid``, ``item``, ``offset``, ``link`` or ``workflow``).
    """
    msg: Message = {
        "account_id": account_id,
        "application_id": application_id,
        "auth": auth,
        "api": api,
        "webhook_version": "v0.1" if api == "v0.1" else webhook_version,
        "channel": body["to"]["type"] if api == "v0.1" else body["channel"],
        "to": body["to"],
        "from": body["from"],
        "client_ref": body.get("client_ref"),
    }
    if api == "v1":
        msg["webhook_url"] = body.get("webhook_url")
    msg.update(part_of)  # type: ignore[typeddict-item]
    return msg


def new_delivery(kind: str, url: str, at: float, created: str, *, application_id: str | None = None,
                 dispatch_uuid: str | None = None, message_uuid: str | None = None) -> Delivery:
    """A webhook raised at simulated time ``at`` (``created``: the same, formatted), not attempted yet
    (``no_url`` when there is nowhere to send it)."""
    return {
        "kind": kind,
        "url": url,
        "status": "pending" if url else "no_url",
        "application_id": application_id,
        "dispatch_uuid": dispatch_uuid,
        "message_uuid": message_uuid,
        "created": created,
        "created_unix": at,
        "first_attempt_unix": None,
        "next_attempt": None,
        "attempts": [],
    }
