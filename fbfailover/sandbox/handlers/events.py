"""The outbound stream of a shared sandbox: ``GET /_sandbox/events`` and the mailbox addresses themselves.

``GET /_sandbox/events?after=<cursor>&wait=<seconds>`` (HTTP Basic ``api_key:api_secret``, always) answers the
account's mailbox items after the cursor, waiting up to ``wait`` seconds (long-polling) for a first one:
``{"events": [{"id", "path", "query", "headers", "body", "body_encoding", "received"}], "cursor", "missed"}``.
Each item carries exactly what a pushed webhook carries, so the kernel verifies and dedupes it the same way.
``after=latest`` answers at once with no items and the cursor of the newest one: a reader that only wants what
comes next (a kernel of the project's own sandbox) starts there.

``POST /_sandbox/mailbox/<api_key>/<route>``: the mailbox address as a real URL; what is posted there is kept for
that account as it came (the kernel checks its signature, so a forged item is refused there).
"""

from __future__ import annotations

from ..auth import AuthError
from ..http import BaseHandler, Problem
from ..mailbox import MAX_WAIT, PREFIX

__all__ = ["events_routes"]


class EventsHandler(BaseHandler):
    """``GET /_sandbox/events``: this account's mailbox after a cursor (long-poll)."""

    async def get(self) -> None:
        header = self.request.headers.get("Authorization", "")
        try:
            if not header.lower().startswith("basic "):
                raise AuthError("none", "the event stream takes Basic credentials (api_key:api_secret)")
            account = self.core.auth.basic(header.partition(" ")[2].strip())
        except AuthError as exc:
            self.set_header("WWW-Authenticate", 'Basic realm="sandbox"')
            raise Problem(401, "Unauthorised", "Send your api_key:api_secret as Basic credentials to read your "
                          "events") from exc
        if self.get_query_argument("after", "") == "latest":
            self.reply(200, self.core.mailbox.latest())
            return
        problems = []
        after = self._number("after", 0, problems, integer=True)
        wait = self._number("wait", 0, problems)
        if problems:
            raise self.invalid(problems)
        found = await self.core.mailbox.wait(account.id, int(after), min(max(wait, 0.0), MAX_WAIT))
        self.reply(200, found)

    def _number(self, name: str, default: float, problems: list, *, integer: bool = False) -> float:
        raw = self.get_query_argument(name, "") or ""
        if not raw:
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            reason = "must be a whole number (or, for after, the word latest)" if integer else "must be a number"
            problems.append({"name": name, "reason": reason})
            return default
        if value < 0:
            problems.append({"name": name, "reason": "must not be negative"})
        return value


class MailboxHandler(BaseHandler):
    """``POST /_sandbox/mailbox/<api_key>/<route>``: keep what is posted for that account's stream."""

    async def post(self, api_key: str, route: str) -> None:
        account = self.core.accounts.by_key(api_key)
        if account is None:
            raise Problem(404, "Not Found", "No such mailbox")
        if len(self.request.body) > self.core.settings.max_body:
            raise Problem(413, "Payload Too Large", "The request body is too large")
        keep = ("Authorization", "Content-Type", "User-Agent")
        headers = {k: self.request.headers[k] for k in keep if k in self.request.headers}
        query = self.request.query
        self.core.mailbox.put(account.id, "/" + route, query, headers, self.request.body)
        await self.core.db.saved()
        self.reply(200, {"status": "kept"})


def events_routes(opts: dict) -> list[tuple]:
    return [
        (r"/_sandbox/events/?", EventsHandler, opts),
        (rf"{PREFIX}([^/]+)/(.+)", MailboxHandler, opts),
    ]
