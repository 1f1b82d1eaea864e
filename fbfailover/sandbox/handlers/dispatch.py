"""``POST /v0.1/dispatch`` and the developer-preview ``POST /beta/workflows``: a failover workflow."""

from __future__ import annotations

from ..http import BaseHandler
from ..validation import check_dispatch

__all__ = ["DispatchHandler"]


class DispatchHandler(BaseHandler):
    """Route option ``kind``: ``dispatch`` (answers ``dispatch_uuid``) or ``workflow`` (``workflow_uuid``)."""

    family = "dispatch"
    body_kind = "send"

    async def post(self) -> None:
        kind = self.route_options.get("kind", "dispatch")
        scheme, account, app_id = self.authenticate()
        body = self.body()
        problems = check_dispatch(body)
        if problems:
            raise self.invalid(problems)
        dispatch, _ = self.core.failover.create_workflow(account, app_id, scheme, kind, body["workflow"],
                                                         body["template"])
        self.core.activity.step(account.id, "dispatch")
        await self.reply_saved(202, {"workflow_uuid" if kind == "workflow" else "dispatch_uuid": dispatch["uuid"]})
