"""The checked exercises of steps 02 (applications) and 03 (JWTs); the base classes are in ``checks.py``.

Each check asks the API: the list of applications the Applications API returns, or what Dispatch and Messages
answer to a token. Nothing the learner assigned is trusted.
"""

from __future__ import annotations

import time
from typing import Any

from fbfailover.errors import TokenError
from fbfailover.tokens import decode_for_display
from fbfailover.tutorial import follow
from fbfailover.tutorial.checks import CheckResult, Exercise
from fbfailover.tutorial.gallery import try_request
from fbfailover.tutorial.session import Tutorial

__all__ = ["STAGING_NAME", "second_application", "second_user", "shortest_token"]

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
MIN_LIFETIME = 30  # seconds: Vonage's authentication guide, "a minimum value of 30 seconds"


def check_shortest_token(tut: Tutorial, token: str) -> CheckResult:
    """Whether ``token`` is the shortest-lived token Vonage accepts (``exp`` 30 s after ``iat``), by asking the API.

    Dispatch gets an empty body: 400 means the token was accepted and the body read (nothing is sent), 401 that
    the token itself was refused.

    Args:
        tut: the session whose client sends the probe.
        token: the JWT to check.

    Returns:
        The result, with the token's lifetime and the API's answer.
    """
    try:
        claims = decode_for_display(token)["claims"]
    except TokenError as exc:
        return CheckResult(False, "that is not a JWT", [str(exc), "mint one as in the cell above"])
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or not isinstance(iat, (int, float)):
        return CheckResult(False, "the token has no exp (or no iat)", [
            "without exp Vonage lets a token live 15 minutes: the exercise wants exp set"])
    lifetime = exp - iat
    answer = try_request(tut, tut.client.request_for("send_workflow", {}), bearer=token, on_purpose="exercise")
    lines = [f"lifetime: exp - iat = {lifetime:g} s",
             f"POST /v0.1/dispatch with an empty body: {answer.status} — "
             + {400: "the token was accepted (the empty body was then refused)",
                401: "the token was refused"}.get(answer.status, "unexpected")]
    if answer.status == 401:
        if lifetime < MIN_LIFETIME:
            return CheckResult(False, f"the API refuses a token that lives {lifetime:g} s", [
                *lines, "Vonage's authentication guide sets a minimum lifetime: exercise.hint(1) helps"])
        if time.time() > exp:
            return CheckResult(False, "the token has expired", [
                *lines, "a short token is short: mint it again and check it at once"])
        return CheckResult(False, "the API refuses this token", [
            *lines, "is it signed with this application's private key, and is its application_id this one?"])
    if answer.status != 400:
        return CheckResult(False, f"unexpected answer {answer.status}", lines)
    if lifetime > MIN_LIFETIME:
        return CheckResult(False, f"accepted, but a token that lives {lifetime:g} s is not the shortest", lines)
    return CheckResult(True, f"the shortest token Vonage accepts: {lifetime:g} s", lines)


def shortest_token(tut: Tutorial) -> Exercise:
    """Step 03's exercise: the shortest-lived token Vonage accepts (a documented limit of its JWTs).

    Args:
        tut: the session the check uses.

    Returns:
        The exercise; ``check(token)`` takes the token to judge.
    """
    return Exercise(
        name="the shortest token Vonage accepts",
        task=("Mint, by hand, the shortest-lived JWT that the API still accepts (exp as close to iat as allowed); "
              "then check it with exercise.check(token)."),
        hints=[
            "Vonage's authentication guide: exp must be at least 30 seconds after iat, and at most 24 hours.",
            "Change the exp of the cell above to now + 30.",
        ],
        solution="solutions/03_shortest_token.py",
        checker=lambda token: check_shortest_token(tut, token),
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
    arrived = follow.inbound_from(tut.receiver, psid, timeout=3) if tut.receiver is not None else []  # may be late
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
            "In the sandbox, tutorial.user_writes(tut, \"...\") plays a user writing to the Page.",
            "Leave from_ out and the sandbox makes up a new user; the message's from.id is their PSID.",
        ],
        solution="solutions/01_second_user.py",
        checker=lambda: check_second_user(tut, known),
    )
