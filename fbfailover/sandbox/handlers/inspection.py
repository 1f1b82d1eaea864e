"""Inspection endpoints under ``/_sandbox/``: the timeline of a dispatch, a message, the webhook deliveries.

Read-only views for learners and tests, on the same accounts as the control endpoints (``control.py``).
"""

from __future__ import annotations

import json

from ..bodies import iso, shown
from ..http import ControlHandler, Problem

__all__ = ["inspection_routes"]


class DispatchTimelineHandler(ControlHandler):
    def get(self, uuid: str) -> None:
        account = self.account()
        dispatch = self.core.records.dispatch(uuid)
        if dispatch is None or dispatch["account_id"] != account.id:
            raise Problem(404, "Not Found", f"No dispatch or workflow '{uuid}' in this account")
        messages = [_message_view(m) for m in self.core.records.messages_of(uuid)]
        deliveries = [
            {
                "id": d["id"],
                "kind": d["kind"],
                "status": d["status"],
                "url": d["url"],
                "message_uuid": d.get("message_uuid"),
                "attempts": len(d["attempts"]),
            }
            for d, _ in self.core.records.deliveries(account.id, dispatch_uuid=uuid)
        ]
        expiry = dispatch.get("expiry")
        self.reply(
            200,
            {
                "dispatch_uuid": uuid,
                "kind": dispatch["kind"],
                "template": dispatch["template"],
                "status": dispatch["status"],
                "application_id": dispatch["application_id"],
                "auth": dispatch["auth"],
                "created": shown(dispatch["created"], dispatch),
                "created_real": dispatch["created_real"],
                "finished": dispatch["finished"],
                "current_item": dispatch["current"],
                "items_total": len(dispatch["items"]),
                "expiry": None if expiry is None else {k: expiry[k] for k in ("item", "deadline", "condition_status")},
                "events": dispatch["events"],
                "messages": messages,
                "final_report": dispatch["final_report"],
                "deliveries": deliveries,
                "now": iso(self.core.clock.now()),
            },
        )


class MessageHandler(ControlHandler):
    def get(self, uuid: str) -> None:
        account = self.account()  # credentials before existence: no answer tells whether a message exists
        msg = self.core.records.message(uuid)
        if msg is None or msg["account_id"] != account.id:
            raise Problem(404, "Not Found", f"No message '{uuid}' in this account")
        self.reply(200, _message_view(msg))


def _message_view(msg: dict) -> dict:
    return {
        "message_uuid": msg["uuid"],
        "item": msg.get("item"),
        "channel": msg["channel"],
        "to": msg["to"],
        "from": msg["from"],
        "status": msg["status"],
        "dispatch_uuid": msg.get("dispatch_uuid"),
        "usage": msg.get("usage"),
        "error_code": msg.get("error_code"),
        "history": [{k: v for k, v in h.items() if k != "at_unix"} for h in msg["history"]],
    }


class DeliveriesHandler(ControlHandler):
    def get(self) -> None:
        try:
            limit = int(self.get_query_argument("limit", "500"))
        except ValueError as exc:
            raise self.invalid([{"name": "limit", "reason": "must be an integer"}]) from exc
        rows = self.core.records.deliveries(
            self.account().id,
            dispatch_uuid=self.get_query_argument("dispatch_uuid", None),
            status=self.get_query_argument("status", None),
            limit=max(1, min(limit, 5000)),
        )
        out = []
        for doc, body in rows:
            view = {k: v for k, v in doc.items() if k not in ("created_unix", "first_attempt_unix")}
            view["body"] = json.loads(body)
            out.append(view)
        self.reply(200, {"deliveries": out, "count": len(out)})


def inspection_routes(opts: dict) -> list[tuple]:
    return [
        (r"/_sandbox/dispatches/([^/]+)/?", DispatchTimelineHandler, opts),
        (r"/_sandbox/messages/([^/]+)/?", MessageHandler, opts),
        (r"/_sandbox/deliveries/?", DeliveriesHandler, opts),
    ]
