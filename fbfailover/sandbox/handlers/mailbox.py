"""The outbound stream of a shared sandbox: ``GET /_sandbox/events`` and the mailbox addresses themselves.

``GET /_sandbox/events?after=<cursor>&wait=<seconds>`` (HTTP Basic ``api_key:api_secret``, always) answers the
account's mailbox items after the cursor, waiting up to ``wait`` seconds (long-polling) for a first one. The
protocol (query, page, item encoding, problems, the 429 past the long-poll caps) is the one event-stream protocol,
``fbfailover.eventstream``, which the live receiver's ``EventLog`` serves too. Each item carries exactly what a
pushed webhook carries, so the kernel verifies and dedupes it the same way, and a ``seal`` made with the account's
signature secret, so the kernel takes only what this sandbox handed out.

``POST /_sandbox/mailbox/<api_key>/<route>``: a mailbox address is where the sandbox delivers an account's
webhooks, internally (``webhook_delivery.py``), never over HTTP. So only the sandbox puts items there: a POST from
outside is 403 for every key, known or not (no forged item can reach a reader, and no answer tells whether a key
exists).
"""

from __future__ import annotations

from fbfailover.eventstream import RETRY_AFTER, UNAUTHORIZED, LongPolls, QueryError, parse_query, problem, seal

from ..auth import AuthError
from ..http import BaseHandler, Problem
from ..mailbox import PREFIX

__all__ = ["EventsHandler", "MailboxHandler", "events_routes"]


def _problem(status: int, title: str, detail: str, invalid_parameters: list[dict] | None = None,
             headers: dict[str, str] | None = None) -> Problem:
    """The protocol's problem body (the same as the receiver's), raised the sandbox's way."""
    refused = Problem(status, title, detail, headers=headers)
    refused.body = problem(status, title, detail, invalid_parameters)
    return refused


class EventsHandler(BaseHandler):
    """``GET /_sandbox/events``: this account's mailbox after a cursor (long-poll)."""

    async def get(self) -> None:
        try:
            account = self.core.auth.basic(self.request.headers.get("Authorization"))
        except AuthError as exc:
            raise _problem(401, UNAUTHORIZED, "Send your api_key:api_secret as Basic credentials to read your "
                           "events", headers={"WWW-Authenticate": 'Basic realm="sandbox"'}) from exc
        try:
            query = parse_query(lambda name: self.get_query_argument(name, None))
        except QueryError as exc:
            raise _problem(400, "Bad Request", str(exc), exc.problems) from exc
        if query.after is None:
            self.reply(200, self.core.mailbox.latest())
            return
        polls: LongPolls = self.core.mailbox.polls
        if query.wait > 0 and not polls.take(account.id):
            raise _problem(429, "Too Many Requests", "Too many long-polls are open (for this account or in all); "
                           f"ask again in {RETRY_AFTER} s", headers={"Retry-After": str(RETRY_AFTER)})
        holding = query.wait > 0

        def answer(found: dict) -> None:  # at once, or from inside the commit that publishes the first item
            nonlocal holding
            if holding:  # the slot is free again before the reader has its answer
                holding = False
                polls.give_back(account.id)
            for item in found["events"]:  # the reader takes only items the sandbox sealed with the account's secret
                item["seal"] = seal(account.signature_secret, found["epoch"], item)
            self.reply(200, found)

        try:
            await self.core.mailbox.wait(account.id, query.after, query.wait, answer, query.limit)
        finally:
            if holding:
                polls.give_back(account.id)


class MailboxHandler(BaseHandler):
    """``POST /_sandbox/mailbox/<api_key>/<route>``: refused, whoever asks (only the sandbox delivers there)."""
    body_kind = "mailbox"

    def post(self, api_key: str, route: str) -> None:
        raise Problem(403, "Forbidden", "Only the sandbox delivers to its mailboxes: they take no request from "
                      "outside", type="https://developer.vonage.com/api-errors#forbidden")


def events_routes(opts: dict) -> list[tuple]:
    return [
        (r"/_sandbox/events/?", EventsHandler, opts),
        (rf"{PREFIX}([^/]+)/(.+)", MailboxHandler, opts),
    ]
