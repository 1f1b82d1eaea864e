"""The checked exercises of steps 02 (applications) and 03 (JWTs); the base classes are in ``checks.py``.

Each check asks the API: the list of applications the Applications API returns, or what Dispatch and Messages
answer to a token. Nothing the learner assigned is trusted.
"""

from __future__ import annotations

import time
from typing import Any

from fbfailover.errors import TokenError
from fbfailover.tokens import decode_for_display
from fbfailover.tutorial.checks import CheckResult, Exercise
from fbfailover.tutorial.gallery import try_request
from fbfailover.tutorial.session import Tutorial

__all__ = ["STAGING_NAME", "dispatch_only_token", "second_application", "second_user"]

STAGING_NAME = "FB failover staging"


def _applications(tut: Tutorial) -> list[dict[str, Any]]:
    """Every application of the account, page by page, as the Applications API lists them."""
    apps: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = tut.client.list_applications(page, 100)
        apps += answer.get("_embedded", {}).get("applications", [])
        if page >= int(answer.get("total_pages") or 1):
            return apps
        page += 1


def _status_hook(app: dict[str, Any]) -> dict[str, Any]:
    hooks = ((app.get("capabilities") or {}).get("messages") or {}).get("webhooks") or {}
    return hooks.get("status_url") or {}


def check_second_application(tut: Tutorial) -> CheckResult:
    """Whether the account has an application named ``STAGING_NAME`` whose status URL is the receiver's.

    Args:
        tut: the session; its receiver's status URL is the one wanted.

    Returns:
        The result, read from ``GET /v2/applications``.
    """
    wanted = getattr(tut.receiver, "status_url", None)
    if not wanted:
        return CheckResult(False, "no webhook receiver is running", ["run the notebook's first cell, which starts it"])
    found = [a for a in _applications(tut) if a.get("name") == STAGING_NAME]
    where = "looked in GET /v2/applications, the list the Applications API returns"
    if not found:
        return CheckResult(False, f"no application named {STAGING_NAME!r}", [where, "exercise.hint(1) helps"])
    if all(a["id"] == tut.settings.application_id for a in found):
        return CheckResult(False, f"{STAGING_NAME!r} is the tutorial's own application, renamed", [
            "the exercise wants a second application: create a new one rather than updating the first"])
    good = [a for a in found if _status_hook(a).get("address") == wanted and a["id"] != tut.settings.application_id]
    if not good:
        hook = _status_hook(found[-1])
        return CheckResult(False, f"{STAGING_NAME!r} exists, but its status URL is {hook.get('address')}", [
            where, "that address is not where this notebook receives webhooks, so the statuses of what the "
            "application sends would never reach you", "exercise.hint(2) helps"])
    app = good[-1]
    return CheckResult(True, f"application {app['id']} {STAGING_NAME!r} sends its statuses to your receiver", [
        where, f"status URL: {wanted} ({_status_hook(app).get('http_method')})"])


def second_application(tut: Tutorial) -> Exercise:
    """Step 02's exercise: a second application whose status webhook reaches this notebook's receiver.

    Args:
        tut: the session the check uses.

    Returns:
        The exercise; ``check()`` takes no arguments.
    """
    return Exercise(
        name="a second application",
        task=(f"Create a second application named {STAGING_NAME!r} whose status URL is your receiver's status URL, "
              "then find it in the list of your applications."),
        hints=[
            "application_body(name, inbound_url, status_url) builds the request body; "
            "tut.client.create_application(body) sends it.",
            "The receiver's URLs are tut.receiver.inbound_url and tut.receiver.status_url.",
            "tut.client.list_applications() returns the list; the applications are in ['_embedded']['applications'].",
        ],
        solution="solutions/02_second_application.py",
        checker=lambda: check_second_application(tut),
    )


_ACCEPTED = {422: 400}  # Messages v1 refuses a body with 422 where the others answer 400
_PROBES = [("send_workflow", "POST /v0.1/dispatch"), ("send_message_v01", "POST /v0.1/messages"),
           ("send_message_v1", "POST /v1/messages")]


def check_dispatch_only(tut: Tutorial, token: str) -> CheckResult:
    """Whether ``token`` gets past the API's door on Dispatch and nowhere else, by asking the API itself.

    Each API gets an empty body: 400 (422 on Messages v1) means the token was accepted and the body read (nothing
    is sent), 403 that the token's ``acl`` refused the path, 401 that the token itself was refused.

    Args:
        tut: the session whose client sends the probes.
        token: the JWT to check.

    Returns:
        The result, with one line per API probed.
    """
    if not tut.offline:
        return CheckResult(False, "this check needs the sandbox", [
            "Vonage documents ACLs for its Client SDK APIs; whether Dispatch and Messages apply them is not "
            "documented, so only the sandbox can say"])
    try:
        acl = decode_for_display(token)["claims"].get("acl")
    except TokenError as exc:
        return CheckResult(False, "that is not a JWT", [str(exc), "mint one with tutorial.mint_token(tut, acl=...)"])
    paths = ", ".join((acl or {}).get("paths", {})) if isinstance(acl, dict) else None
    passed = {}
    lines = [f"the token's acl: {paths or 'none (a token without acl may call every path)'}"]
    for operation, label in _PROBES:
        answer = try_request(tut, tut.client.request_for(operation, {}), bearer=token)
        passed[operation] = answer.status
        meaning = {400: "past the acl (the empty body was then refused)", 403: "refused by the acl",
                   401: "the token itself was refused"}.get(_ACCEPTED.get(answer.status, answer.status), "unexpected")
        lines.append(f"{label} with an empty body: {answer.status} — {meaning}")
    status = {op: _ACCEPTED.get(code, code) for op, code in passed.items()}
    if 401 in status.values():
        return CheckResult(False, "the API refuses this token altogether (401)", [
            *lines, "it is not a token of this application: tutorial.mint_token(tut, ...) mints one"])
    if status["send_workflow"] != 400:
        return CheckResult(False, "the token may not call Dispatch", [
            *lines, "no pattern in its acl matches POST /v0.1/dispatch"])
    if status["send_message_v01"] != 403 or status["send_message_v1"] != 403:
        return CheckResult(False, "the token may still call the Messages API", [
            *lines, "a pattern in its acl matches the Messages paths too (/v0.1/messages or /v1/messages)"])
    return CheckResult(True, "the token may call Dispatch and nothing else", lines)


def dispatch_only_token(tut: Tutorial) -> Exercise:
    """Step 03's exercise: a JWT whose ACL allows only Dispatch, refused by the Messages API.

    Args:
        tut: the session the check uses.

    Returns:
        The exercise; ``check(token)`` takes the token to judge.
    """
    return Exercise(
        name="a token for Dispatch only",
        task=("Mint a JWT whose ACL allows only the Dispatch API (/*/dispatch/**) and see the Messages API refuse "
              "it; then check the token with exercise.check(token)."),
        hints=[
            "tutorial.mint_token(tut, acl=...) mints a token with an ACL; its ['token'] is the JWT itself.",
            'An ACL is {"paths": {pattern: {}}}: * stands for one path segment (the API version), ** for any number.',
            'The pattern for Dispatch is "/*/dispatch/**": it matches POST /v0.1/dispatch and nothing under /messages.',
        ],
        solution="solutions/03_dispatch_only_token.py",
        checker=lambda token: check_dispatch_only(tut, token),
    )


def _user_of(delivery: dict[str, Any]) -> str | None:
    """The PSID of the user who wrote an inbound webhook (``from.id`` in v0.1, ``from`` in v1)."""
    sender = (delivery.get("body") or {}).get("from")
    return sender.get("id") if isinstance(sender, dict) else sender


def check_second_user(tut: Tutorial, known: set[int]) -> CheckResult:
    """Whether a user other than the tutorial's one wrote to the Page and the webhook reached this notebook.

    Args:
        tut: the session; its sandbox's delivery records and its receiver's events are read.
        known: ids of the deliveries there were when the exercise was shown (only later ones count).

    Returns:
        The result, read from ``GET /_sandbox/deliveries`` and the receiver's events.
    """
    if not tut.offline:
        return CheckResult(False, "this check reads the sandbox's records: in live mode, write from a second "
                           "Facebook account and look at the feed", [])
    inbound = [d for d in tut.sandbox.deliveries() if d["kind"] == "inbound" and d["id"] not in known]
    where = "looked in GET /_sandbox/deliveries for inbound webhooks made since the exercise was shown"
    if not inbound:
        return CheckResult(False, "no user wrote to the Page since the exercise was shown", [
            where, "exercise.hint(1) helps"])
    others = [d for d in inbound if _user_of(d) != tut.settings.fb_recipient_id]
    if not others:
        return CheckResult(False, "the message came from the tutorial's own user", [
            where, f"its PSID is FB_RECIPIENT_ID ({tut.settings.fb_recipient_id}): the exercise wants someone else"])
    last = others[-1]
    psid = _user_of(last)
    deadline = time.monotonic() + 3  # the webhook may still be on its way
    while not (arrived := [e for e in tut.receiver.events("inbound") if e.sender_id == psid]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not arrived:
        return CheckResult(False, f"user {psid} wrote, but the webhook did not reach this notebook", [
            where, f"the delivery is {last['status']} to {last['url']}: is the account's inbound URL this "
            "receiver's? Run the account-webhooks cell above"])
    return CheckResult(True, f"a second user (PSID {psid}) wrote, and this notebook received it", [
        where, f"the inbound webhook went to {last['url']}", "Reply to them with that PSID as the recipient id"])


def second_user(tut: Tutorial) -> Exercise:
    """Step 01's exercise: a second Facebook user writes to the Page; find their PSID.

    Args:
        tut: the session the check uses.

    Returns:
        The exercise; ``check()`` takes no arguments.
    """
    known = {d["id"] for d in tut.sandbox.deliveries()} if tut.offline else set()
    return Exercise(
        name="a second user writes",
        task=("Make a second Facebook user (not the tutorial's) send a message to your Page, then find their PSID "
              "in the feed: it is the id you would send a reply to."),
        hints=[
            "In the sandbox, tut.sandbox.inbound(\"messenger\", text=\"...\") plays a user writing to the Page.",
            "Leave from_ out and the sandbox makes up a new user; the webhook's from.id is their PSID.",
        ],
        solution="solutions/01_second_user.py",
        checker=lambda: check_second_user(tut, known),
    )
