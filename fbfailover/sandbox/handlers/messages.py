"""``POST /v0.1/messages`` and ``POST /v1/messages`` (with its optional ``failover`` list)."""

from __future__ import annotations

from ..documents import new_message
from ..http import BaseHandler
from ..validation import check_message_v01, check_message_v1

__all__ = ["MessagesV01Handler", "MessagesV1Handler"]


class MessagesV01Handler(BaseHandler):
    body_kind = "send"
    family = "dispatch"

    async def post(self) -> None:
        scheme, account, app_id = self.authenticate()
        body = self.body()
        problems = check_message_v01(body)
        if problems:
            raise self.invalid(problems)
        msg = new_message(account.id, app_id, scheme, body, api="v0.1")
        self.core.messages.submit(msg, self.core.clock.now())
        await self.reply_saved(202, {"message_uuid": msg["uuid"]})


class MessagesV1Handler(BaseHandler):
    body_kind = "send"
    family = "v1"

    async def post(self) -> None:
        scheme, account, app_id = self.authenticate()
        body = self.body()
        problems = check_message_v1(body)
        if problems:
            raise self.invalid(problems)
        failover = body.get("failover") or []
        if failover:
            primary = {k: v for k, v in body.items() if k != "failover"}
            workflow, first = self.core.failover.create_workflow(account, app_id, scheme, "v1", [primary, *failover])
            answer = {"message_uuid": first["uuid"], "workflow_id": workflow["uuid"]}
            self.core.activity.step(account.id, "v1_failover")
        else:
            msg = new_message(account.id, app_id, scheme, body, api="v1",
                              webhook_version=self.core.messages.webhook_version(body, app_id))
            self.core.messages.submit(msg, self.core.clock.now())
            answer = {"message_uuid": msg["uuid"]}
        await self.reply_saved(202, answer)
