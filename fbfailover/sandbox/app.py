"""The HTTP layer of the Vonage APIs: route -> authenticate -> validate -> act on state -> respond.

One server answers the paths of both api.nexmo.com and rest.nexmo.com. Handlers stay thin: the simulation
lives in ``simulation.py``, the rules in ``validation.py``, the applications API in ``applications.py``, the
control and inspection endpoints in ``control.py`` and ``inspection.py``.
"""

from __future__ import annotations

import tornado.web

from .applications import ApplicationHandler, ApplicationsHandler
from .base import BaseHandler, Problem
from .channels import v1_fields
from .control import control_routes
from .core import Core, SandboxSettings
from .inspection import inspection_routes
from .state import State
from .validation import check_dispatch, check_message_v01, check_message_v1

__all__ = ["make_app"]


class AccountSettingsHandler(BaseHandler):
    """``POST /account/settings``: the account-level inbound (mo) and delivery-receipt (dr) webhook URLs."""

    def post(self) -> None:
        values = self.form_or_query()
        account = self.core.auth.check_secret(values.get("api_key"), values.get("api_secret"))
        if account is None and self.request.headers.get("Authorization", "").lower().startswith("basic "):
            try:
                _, account, _ = self.core.auth.authenticate(self.request.headers["Authorization"])
            except Exception:
                account = None
        if account is None:
            self.reply(401, {"error-code": "401", "error-code-label": "authentication failed"})
            return
        problems = [
            {"name": name, "reason": "must be an http or https URL, or empty to unset"}
            for name in ("moCallBackUrl", "drCallBackUrl")
            if values.get(name) and not values[name].startswith(("http://", "https://"))
        ]
        if problems:
            raise Problem(400, "Bad Request", "Invalid webhook URL", invalid_parameters=problems)
        self.core.state.set_account_urls(account, values.get("moCallBackUrl"), values.get("drCallBackUrl"))
        self.core.commit()
        self.reply(
            200,
            {
                "mo-callback-url": account.mo_url,
                "dr-callback-url": account.dr_url,
                "max-outbound-request": 30,
                "max-inbound-request": 30,
                "max-calls-per-second": 30,
            },
        )


class DispatchHandler(BaseHandler):
    """``POST /v0.1/dispatch`` (and the developer-preview ``/beta/workflows``)."""

    family = "dispatch"

    async def post(self) -> None:
        kind = self.route_options.get("kind", "dispatch")
        scheme, account, app_id = self.authenticate()
        body = self.json_body()
        problems = check_dispatch(body, self.request.body)
        if problems:
            raise self.invalid(problems)
        dispatch, _ = self.core.sim.create_workflow(account, app_id, scheme, kind, body["workflow"], body["template"])
        await self.core.saved()
        self.reply(202, {"workflow_uuid" if kind == "workflow" else "dispatch_uuid": dispatch["uuid"]})


class MessagesV01Handler(BaseHandler):
    """``POST /v0.1/messages``."""

    family = "dispatch"

    async def post(self) -> None:
        scheme, account, app_id = self.authenticate()
        body = self.json_body()
        problems = check_message_v01(body)
        if problems:
            raise self.invalid(problems)
        msg = {
            "account_id": account.id,
            "application_id": app_id,
            "auth": scheme,
            "api": "v0.1",
            "webhook_version": "v0.1",
            "channel": body["to"]["type"],
            "to": body["to"],
            "from": body["from"],
            "client_ref": body.get("client_ref"),
        }
        self.core.sim.submit(msg, self.core.clock.now())
        await self.core.saved()
        self.reply(202, {"message_uuid": msg["uuid"]})


class MessagesV1Handler(BaseHandler):
    """``POST /v1/messages``, with the optional ``failover`` list."""

    family = "v1"

    async def post(self) -> None:
        scheme, account, app_id = self.authenticate()
        body = self.json_body()
        problems = check_message_v1(body)
        if problems:
            raise self.invalid(problems)
        failover = body.get("failover") or []
        if failover:
            primary = {k: v for k, v in body.items() if k != "failover"}
            dispatch, first = self.core.sim.create_workflow(account, app_id, scheme, "v1", [primary, *failover])
            answer = {"message_uuid": first["uuid"], "workflow_id": dispatch["uuid"]}
        else:
            msg = {"account_id": account.id, "application_id": app_id, "auth": scheme, **v1_fields(body)}
            self.core.sim.submit(msg, self.core.clock.now())
            answer = {"message_uuid": msg["uuid"]}
        await self.core.saved()
        self.reply(202, answer)


class PingHandler(BaseHandler):
    def get(self) -> None:
        self.reply(200, {"status": "ok"})


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        raise Problem(
            404,
            "Not Found",
            f"No resource at {self.request.path}; see fbfailover/sandbox/README.md",
            type=f"{self.errors_base()}#not-found",
        )


def make_app(state: State | Core, settings: SandboxSettings | None = None) -> tornado.web.Application:
    """The sandbox as a tornado application over ``state``; ``app.settings["core"]`` holds its parts.

    Call ``core.start()`` on the serving loop before the first request and ``await core.stop()`` at the end.
    """
    core = state if isinstance(state, Core) else Core(state, settings)
    opts = {"core": core}
    routes: list[tuple] = [
        (r"/(?:v0\.1/dispatch|v0\.1/messages|v1/messages|v2/applications)/ping/?", PingHandler, opts),
        (r"/v2/applications/?", ApplicationsHandler, opts),
        (r"/v2/applications/([^/]+)/?", ApplicationHandler, opts),
        (r"/account/settings/?", AccountSettingsHandler, opts),
        (r"/v0\.1/dispatch/?", DispatchHandler, {**opts, "kind": "dispatch"}),
        (r"/beta/workflows/?", DispatchHandler, {**opts, "kind": "workflow"}),
        (r"/v0\.1/messages/?", MessagesV01Handler, opts),
        (r"/v1/messages/?", MessagesV1Handler, opts),
        *control_routes(opts),
        *inspection_routes(opts),
        (r".*", NotFoundHandler, opts),
    ]
    app = tornado.web.Application(routes, log_function=lambda handler: None, core=core)
    return app
