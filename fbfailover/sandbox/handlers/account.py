"""``POST /account/settings``: the account-level inbound (mo) and delivery-receipt (dr) webhook URLs."""

from __future__ import annotations

from ..auth import AuthError
from ..http import BaseHandler, Problem

__all__ = ["AccountSettingsHandler"]


class AccountSettingsHandler(BaseHandler):
    """Credentials as ``api_key``/``api_secret`` in the query or form, or Basic; a POST without URLs changes
    nothing and answers the current settings."""

    def post(self) -> None:
        values = self.body(form=True)
        account = self.core.auth.check_secret(values.get("api_key"), values.get("api_secret"))
        if account is None and self.request.headers.get("Authorization", "").lower().startswith("basic "):
            try:
                _, account, _ = self.core.auth.authenticate(self.request.headers["Authorization"])
            except AuthError:
                account = None
        claimed = account or (self.core.accounts.by_key(values["api_key"]) if values.get("api_key") else None)
        self.account_id = claimed.id if claimed is not None else None  # the workshop dashboard's row
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
        self.core.accounts.set_urls(account, values.get("moCallBackUrl"), values.get("drCallBackUrl"))
        self.core.db.commit()
        self.reply(200, {
            "mo-callback-url": account.mo_url,
            "dr-callback-url": account.dr_url,
            "max-outbound-request": 30,
            "max-inbound-request": 30,
            "max-calls-per-second": 30,
        })
