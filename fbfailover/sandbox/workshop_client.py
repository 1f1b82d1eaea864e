"""Workshop accounts from the attendee's side: ask a shared sandbox for an account of one's own.

``fbfailover sandbox --workshop`` prints a URL and a workshop token; ``create_account(url, token)`` turns them
into the credentials of a fresh, isolated account (``POST /_sandbox/accounts``).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from fbfailover.errors import SandboxError

__all__ = ["AccountError", "WorkshopAccount", "create_account", "set_display_name"]


class AccountError(SandboxError):
    """Raised when a shared sandbox does not hand out an account; ``str()`` says what to do."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, repr=False)
class WorkshopAccount:
    """The credentials of one attendee's account on a shared sandbox."""

    api_key: str
    api_secret: str
    signature_secret: str

    def __repr__(self) -> str:
        return f"WorkshopAccount(api_key={self.api_key!r}, api_secret='***', signature_secret='***')"


def create_account(url: str, token: str | None, *, name: str | None = None, timeout: float = 10.0) -> WorkshopAccount:
    """Create an account on the shared sandbox at ``url`` with the workshop ``token``.

    Args:
        url: the shared sandbox.
        token: the workshop token.
        name: the display name the instructor's dashboard shows for this account.
        timeout: seconds to wait for the answer.

    Raises:
        AccountError: the sandbox cannot be reached, is not in workshop mode, or refuses the token.
    """
    base = url.rstrip("/")
    headers = {"X-Workshop-Token": token or ""}
    try:
        response = requests.post(f"{base}/_sandbox/accounts", headers=headers, json={"name": name} if name else None,
                                 timeout=timeout)
    except requests.RequestException as exc:
        raise AccountError(
            f"could not reach the shared sandbox at {base} ({type(exc).__name__}) — is it running? "
            "Check FBFAILOVER_SANDBOX_URL"
        ) from exc
    if response.status_code == 404:
        raise AccountError(
            f"the sandbox at {base} is not in workshop mode, so it gives out no accounts: start it with "
            "`fbfailover sandbox --workshop`, or put the credentials it printed in VONAGE_API_KEY / "
            "VONAGE_API_SECRET / VONAGE_SIGNATURE_SECRET",
            404,
        )
    if response.status_code == 401:
        what = "is not set" if not token else "was refused"
        raise AccountError(
            f"the workshop token {what}: set FBFAILOVER_WORKSHOP_TOKEN to the token the instructor's "
            "`fbfailover sandbox --workshop` printed",
            401,
        )
    try:
        body = response.json()
        account = WorkshopAccount(body["api_key"], body["api_secret"], body["signature_secret"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AccountError(
            f"the sandbox at {base} answered {response.status_code} without an account — is "
            "FBFAILOVER_SANDBOX_URL the address of an fbfailover sandbox?",
            response.status_code,
        ) from exc
    return account


def set_display_name(url: str, api_key: str, api_secret: str, name: str, *, timeout: float = 10.0) -> bool:
    """Tell the shared sandbox at ``url`` the display name of this account (``PUT /_sandbox/attendee``).

    Returns:
        True when the sandbox took it; False when it could not be reached or answered otherwise (the name only
        decorates the instructor's dashboard: nothing the tutorial does depends on it).
    """
    try:
        response = requests.put(f"{url.rstrip('/')}/_sandbox/attendee", json={"name": name},
                                auth=(api_key, api_secret), timeout=timeout)
    except requests.RequestException:
        return False
    return response.status_code == 200
