"""``POST /account/settings``: the account-level inbound (mo) and delivery-receipt (dr) webhook URLs.

As Vonage's Account API: credentials as ``api_key``/``api_secret`` in the query (the API reference), or as Basic
credentials (Vonage's curl snippet and its Python SDK 4.x); the URLs in the form body (``moCallBackUrl``,
``drCallBackUrl``; the Python SDK writes ``moCallbackUrl``/``drCallbackUrl``, read too); an empty string unsets. A
URL is saved only when it answers 200 OK (``reachability.py``); otherwise nothing changes and the answer is the
Account API's error shape, ``{"error-code": "420", "error-code-label": ...}`` with status 420.
"""

from __future__ import annotations

import asyncio

from ..addresses import private_callback_resolved
from ..auth import AuthError
from ..http import BaseHandler, Problem
from ..mailbox import route_of
from ..reachability import unreachable

__all__ = ["AccountSettingsHandler"]

_SPELLINGS = {"moCallBackUrl": ("moCallBackUrl", "moCallbackUrl"), "drCallBackUrl": ("drCallBackUrl", "drCallbackUrl")}


class AccountSettingsHandler(BaseHandler):
    """A POST without URLs changes nothing and answers the current settings."""
    body_kind = "settings"

    async def post(self) -> None:
        values = self.body(form=True)
        query = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.query_arguments.items()}
        account = self.core.auth.check_secret(query.get("api_key"), query.get("api_secret"))
        if account is None and self.request.headers.get("Authorization"):
            try:
                account = self.core.auth.basic(self.request.headers["Authorization"])
            except AuthError:
                account = None
        # The workshop dashboard's row: only an authenticated caller's request counts (naming a key proves nothing).
        self.account_id = account.id if account is not None else None
        if account is None:  # credentials in the form body are not among the Account API's ways
            self.reply(401, {"error-code": "401", "error-code-label": "authentication failed"})
            return
        urls = {name: next((values[s] for s in spellings if s in values), None)
                for name, spellings in _SPELLINGS.items()}
        problems = [
            {"name": name, "reason": "must be an http or https URL, or empty to unset"}
            for name, url in urls.items()
            if url and not url.startswith(("http://", "https://"))
        ]
        if self.core.settings.workshop and not self.core.settings.loopback_only:
            named = [(name, url) for name, url in urls.items() if url and not route_of(url)]
            reasons = await asyncio.gather(*(private_callback_resolved(url) for _, url in named))
            problems += [{"name": name, "reason": f"{why}: a workshop sandbox calls no address on its own machine"}
                         for (name, _), why in zip(named, reasons, strict=True) if why]
        if problems:
            raise Problem(400, "Bad Request", "Invalid webhook URL", invalid_parameters=problems)
        checked = {name: url for name, url in urls.items() if url}
        reasons = await asyncio.gather(*(unreachable(url, account.api_key) for url in checked.values()))
        failed = [f"{name} {url} {reason}"
                  for (name, url), reason in zip(checked.items(), reasons, strict=True) if reason]
        if failed:
            self.problem_title = "Callback URL not reachable"
            self.reply(420, {
                "max-outbound-request": 0,
                "max-inbound-request": 0,
                "max-calls-per-second": 0,
                "error-code": "420",
                "error-code-label": "Callback URL not saved: " + "; ".join(failed)
                                    + " (Vonage saves a callback URL only when it answers 200 OK)",
            })
            return
        self.core.accounts.set_urls(account, urls["moCallBackUrl"], urls["drCallBackUrl"])
        self.core.db.commit()
        self.reply(200, {
            "mo-callback-url": account.mo_url,
            "dr-callback-url": account.dr_url,
            "max-outbound-request": 30,
            "max-inbound-request": 30,
            "max-calls-per-second": 30,
        })
