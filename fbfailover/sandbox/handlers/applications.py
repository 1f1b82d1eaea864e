"""The Application API v2: ``/v2/applications`` (create, list, get, update, delete) with Basic credentials.

A key pair is generated when no public key is given (the private key is returned once, in ``keys``); answers
carry HAL ``_links`` and the list is paginated.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..addresses import private_callback_resolved
from ..auth import load_public_key
from ..http import APP_ERRORS, ERRORS, BaseHandler, Problem
from ..mailbox import route_of
from ..validation import check

__all__ = ["ApplicationHandler", "ApplicationsHandler"]


#: The largest page number: (page - 1) x page_size stays far inside SQLite's 64-bit integers.
MAX_PAGE = 10**12

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
    body_kind = "application"
    family = "application"

    async def _save(self, account_id: int, app_id: str, existing_key: str | None) -> dict:
        body = self.body(empty={})
        problems = check("applications.json", "application", body)
        if not problems and self.core.settings.workshop and not self.core.settings.loopback_only:
            problems = await _private_callbacks(body.get("capabilities") or {})
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
        self.core.catalog.put_application(account_id, app_id, body["name"], public_key, doc)
        self.core.db.commit()
        view = _app_view(self.core.catalog.application(app_id))  # type: ignore[arg-type]
        if private_key is not None:
            view["keys"]["private_key"] = private_key
        return view

    def _own(self, app_id: str, account_id: int) -> dict:
        app = self.core.catalog.application(app_id)
        if app is None or app["account_id"] != account_id:
            raise Problem(
                404,
                "Not Found",
                f"ID '{app_id}' does not exist, or you do not have access",
                type=f"{ERRORS}#not-found",
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
        if page is not None and not 1 <= page <= MAX_PAGE:  # past it the offset is no SQLite integer: never a 500
            problems.append({"name": "page", "reason": f"must be between 1 and {MAX_PAGE}"})
        if problems:
            raise Problem(
                400,
                "Bad Request",
                "The request failed due to validation errors",
                type=f"{APP_ERRORS}#list-validation",
                invalid_parameters=problems,
            )
        assert page_size is not None and page is not None
        total, apps = self.core.catalog.applications(account.id, (page - 1) * page_size, page_size)
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
        view = await self._save(account.id, str(uuid.uuid4()), None)
        self.core.activity.step(account.id, "application")
        self.reply(201, view)


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
        self.core.catalog.delete_application(app_id)
        self.core.db.commit()
        self.reply(204)


async def _private_callbacks(capabilities: dict) -> list[dict]:
    """A workshop's refusals of webhook addresses on the sandbox's own machine (``addresses.private_callback``)."""
    found = []
    for capability, settings in capabilities.items():
        hooks = settings.get("webhooks") if isinstance(settings, dict) else None
        for hook, value in (hooks.items() if isinstance(hooks, dict) else ()):
            url = value.get("address") if isinstance(value, dict) else None
            if isinstance(url, str) and url and not route_of(url):
                found.append((f"capabilities.{capability}.webhooks.{hook}.address", url))
    reasons = await asyncio.gather(*(private_callback_resolved(url) for _, url in found))
    return [{"name": name, "reason": f"{why}: a workshop sandbox calls no address on its own machine"}
            for (name, _), why in zip(found, reasons, strict=True) if why]
