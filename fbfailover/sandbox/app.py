"""The HTTP layer of the Vonage APIs: route -> authenticate -> validate -> act on state -> respond.

One server answers the paths of both api.nexmo.com and rest.nexmo.com. Handlers stay thin: the simulation
lives in ``simulation.py``, the rules in ``validation.py``, the control endpoints in ``control.py``.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

import tornado.web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .auth import load_public_key
from .base import APP_ERRORS, BaseHandler, Problem
from .channels import v1_fields
from .control import control_routes
from .core import Core, SandboxSettings
from .jsonschemas import check
from .state import State
from .validation import check_dispatch, check_message_v01, check_message_v1

__all__ = ["make_app"]


def _generate_key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _app_view(app: dict) -> dict:
    doc = app["doc"]
    return {
        "id": app["id"],
        "name": app["name"],
        "keys": {"public_key": app["public_key"]},
        "capabilities": doc.get("capabilities", {}),
        "privacy": doc.get("privacy", {"improve_ai": False}),
        "_links": {"self": {"href": f"/v2/applications/{app['id']}"}},
    }


class _ApplicationBase(BaseHandler):
    family = "application"

    async def _save(self, account_id: int, app_id: str, existing_key: str | None) -> dict:
        body = self.json_body(empty={})
        problems = check("applications.json", "application", body)
        public_key = ((body.get("keys") or {}).get("public_key") if isinstance(body, dict) else None) or None
        if not problems and public_key is not None:
            try:
                load_public_key(public_key)
            except ValueError as exc:
                problems = [{"name": "keys.public_key", "reason": str(exc)}]
        if problems:
            raise self.invalid(problems)
        private_key = None
        if public_key is None:
            public_key = existing_key
        if public_key is None:  # Vonage generates the pair and shows the private key once
            private_key, public_key = await asyncio.get_running_loop().run_in_executor(None, _generate_key_pair)
        doc = {
            "capabilities": body.get("capabilities", {}),
            "privacy": {"improve_ai": bool((body.get("privacy") or {}).get("improve_ai", False))},
        }
        self.core.state.put_application(account_id, app_id, body["name"], public_key, doc)
        self.core.auth.forget(app_id)
        self.core.commit()
        view = _app_view(self.core.state.application(app_id))  # type: ignore[arg-type]
        if private_key is not None:
            view["keys"]["private_key"] = private_key
        return view

    def _own(self, app_id: str, account_id: int) -> dict:
        app = self.core.state.application(app_id)
        if app is None or app["account_id"] != account_id:
            raise Problem(
                404,
                "Not Found",
                f"ID '{app_id}' does not exist, or you do not have access",
                type="https://developer.nexmo.com/api-errors#not-found",
            )
        return app


class ApplicationsHandler(_ApplicationBase):
    """``GET`` (paginated list) and ``POST`` (create) on ``/v2/applications``."""

    def get(self) -> None:
        _, account, _ = self.authenticate(basic_only=True)
        problems = []
        page_size, page = self._int_arg("page_size", 10, problems), self._int_arg("page", 1, problems)
        if page_size is not None and not 1 <= page_size <= 100:
            problems.append({"name": "page_size", "reason": "must be between 1 and 100"})
        if page is not None and page < 1:
            problems.append({"name": "page", "reason": "must be at least 1"})
        if problems:
            raise Problem(
                400,
                "Bad Request",
                "The request failed due to validation errors",
                type=f"{APP_ERRORS}#list-validation",
                invalid_parameters=problems,
            )
        assert page_size is not None and page is not None
        total, apps = self.core.state.applications(account.id, (page - 1) * page_size, page_size)
        pages = max(1, math.ceil(total / page_size))
        base = f"/v2/applications?page_size={page_size}"
        links: dict[str, Any] = {
            "self": {"href": f"{base}&page={page}"},
            "first": {"href": base},
            "last": {"href": f"{base}&page={pages}"},
        }
        if page < pages:
            links["next"] = {"href": f"{base}&page={page + 1}"}
        if page > 1:
            links["prev"] = {"href": f"{base}&page={page - 1}"}
        self.reply(
            200,
            {
                "page_size": page_size,
                "page": page,
                "total_items": total,
                "total_pages": pages,
                "_embedded": {"applications": [_app_view(a) for a in apps]},
                "_links": links,
            },
        )

    def _int_arg(self, name: str, default: int, problems: list) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            problems.append({"name": name, "reason": "must be an integer"})
            return None

    async def post(self) -> None:
        _, account, _ = self.authenticate(basic_only=True)
        self.reply(201, await self._save(account.id, str(uuid.uuid4()), None))


class ApplicationHandler(_ApplicationBase):
    """``GET``, ``PUT`` and ``DELETE`` on ``/v2/applications/{id}``."""

    def get(self, app_id: str) -> None:
        _, account, _ = self.authenticate(basic_only=True)
        self.reply(200, _app_view(self._own(app_id, account.id)))

    async def put(self, app_id: str) -> None:
        _, account, _ = self.authenticate(basic_only=True)
        app = self._own(app_id, account.id)
        self.reply(200, await self._save(account.id, app_id, app["public_key"]))

    def delete(self, app_id: str) -> None:
        _, account, _ = self.authenticate(basic_only=True)
        self._own(app_id, account.id)
        self.core.state.delete_application(app_id)
        self.core.auth.forget(app_id)
        self.core.commit()
        self.reply(204)


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
        (r".*", NotFoundHandler, opts),
    ]
    app = tornado.web.Application(routes, log_function=lambda handler: None, core=core)
    return app
