"""The HTTP layer every handler shares: one base handler, one body parser, one problem-JSON style per API family.

Every answer is JSON with an ``X-Fbfailover-Sandbox`` header; every error, hostile input included (a body nested
thousands of levels deep, megabytes of it, odd content types, broken ``Authorization`` headers), is a
problem-details body with a 4xx status, never a 500 page. The ``type`` URLs all live under
``https://developer.vonage.com/api-errors``, the domain Vonage's current SDKs and error pages use.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson
import tornado.web

from fbfailover.background import BoundedBodyHandler
from fbfailover.channels import CHANNELS

from .activity import ON_PURPOSE_HEADER
from .auth import AccessDenied, AuthError
from .mailbox import MAX_ITEM_BYTES
from .storage import SaveError, dumps
from .validation import check

if TYPE_CHECKING:
    from .catalog import Account
    from .core import Core

__all__ = [
    "APP_ERRORS",
    "BODY_LIMITS",
    "DASHBOARD_HEADER",
    "ERRORS",
    "MAX_DEPTH",
    "MESSAGES_ERRORS",
    "SERVER_LIMITS",
    "TOKEN_HEADER",
    "VERSION",
    "BaseHandler",
    "Problem",
]

VERSION = "1"
ERRORS = "https://developer.vonage.com/api-errors"
APP_ERRORS = f"{ERRORS}/application"
MESSAGES_ERRORS = f"{ERRORS}/messages"
#: JSON nested deeper than this is refused (400): no request of these APIs comes close.
MAX_DEPTH = 32
#: The HTTP server's own limits: header blocks up to 1 MB reach the handlers (401 problem JSON for a huge
#: ``Authorization`` rather than a bare close). A body is kept only up to its route's ``BODY_LIMITS`` entry
#: (``BaseHandler``); past it the rest is read and thrown away up to ``max_body_size`` (so that the client reads its
#: 413 on a clean connection), and past that the 413 goes at once and the connection is closed without reading more.
SERVER_LIMITS = {"max_body_size": 4 * 1024 * 1024, "max_header_size": 1024 * 1024}
#: Bytes of one character of text at JSON's worst: a character past U+FFFF escaped as two ``\\uXXXX`` (what
#: ``json.dumps`` writes by default).
_WORST_CHAR = 12
#: The largest body each kind of route keeps, in bytes; past it the answer is 413 problem JSON (see the README's
#: "Request bodies"). Each fits the route's real payload with room to spare:
BODY_LIMITS = {
    # A send (Dispatch, Workflows, Messages v0.1 and v1) and a simulated inbound message: the longest text of the
    # channel table (4,096 characters) with every character at its worst escaping, and 16 KiB for the rest (a
    # failover's SMS of 1,000 such characters, addresses, options, client_ref, webhook URL): 65,536 bytes.
    "send": _WORST_CHAR * max(c.text_max for c in CHANNELS) + 16 * 1024,
    # An application: a name (200 characters), a public key PEM (RSA 4,096 bits: about 800 bytes; 8,192: 1.5 KB)
    # and the capabilities' webhook URLs.
    "application": 16 * 1024,
    # The account settings: two callback URLs, form-encoded or JSON.
    "settings": 8 * 1024,
    # A mailbox address (refused from outside, 403): the largest item a mailbox keeps.
    "mailbox": MAX_ITEM_BYTES,
    # The sandbox's own small control bodies: seconds to advance, a recipient rule, an attendee's name.
    "control": 4 * 1024,
    # Routes that take no body (GET, DELETE, ping): room for an empty JSON object and a client's habits.
    "none": 1024,
}
#: The header of the workshop (join) token: attendees create their accounts with it.
TOKEN_HEADER = "X-Workshop-Token"
#: The header of the dashboard token, the instructor's alone (the dashboard lists every api_key).
DASHBOARD_HEADER = "X-Dashboard-Token"


class Problem(tornado.web.HTTPError):
    """Raised to answer with a problem-details JSON body (``status`` and the body's fields)."""

    def __init__(self, status: int, title: str, detail: str, *, type: str = ERRORS,
                 invalid_parameters: list[dict] | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(status)
        #: Headers of the answer (``WWW-Authenticate``, ``Retry-After``): tornado clears the others on an error.
        self.headers = headers or {}
        self.body: dict[str, Any] = {"type": type, "title": title, "detail": detail, "instance": uuid.uuid4().hex}
        if invalid_parameters is not None:
            self.body["invalid_parameters"] = invalid_parameters
        self.body.update(extra)


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


class BaseHandler(BoundedBodyHandler):
    """Routes set ``family``: which error shapes an API answers with (generic, application, dispatch, v1), and
    ``body_kind``: which ``BODY_LIMITS`` entry bounds their bodies.

    The body streams in and is kept up to the limit (``background.BoundedBodyHandler``, as in the receiver): the
    413 comes once the rest has been read and thrown away, so that the client reads it on a clean connection; past
    ``SERVER_LIMITS["max_body_size"]`` (declared, or streamed) it comes at once and the connection is closed without
    reading more. Every HTTP method of every handler answers that 413 instead of running.
    """

    family = "generic"
    body_kind = "none"
    #: The account this request acts for (or, refused, claims to): set by authentication, read by ``on_finish``.
    account_id: int | None = None
    #: The title of the problem answered, if any: the workshop dashboard shows it as the account's last error.
    problem_title: str | None = None

    def initialize(self, core: Core, **options: Any) -> None:
        self.core: Core = core
        self.route_options = options

    # -- the body, bounded as it streams in (``BoundedBodyHandler``) ------------------------------------------
    @property
    def body_limit(self) -> int:
        return BODY_LIMITS[self.body_kind]

    @property
    def discard_limit(self) -> int:
        return SERVER_LIMITS["max_body_size"]

    def body_too_large(self, size: int) -> None:
        self.send_error(413, exc_info=(Problem, self.too_large(), None))

    def too_large(self) -> Problem:
        return Problem(413, "Payload Too Large", f"The request body must be at most {self.body_limit} bytes on "
                       "this route", type=f"{ERRORS}#payload-too-large")

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Fbfailover-Sandbox", VERSION)

    def reply(self, status: int, body: Any = None) -> None:
        self.set_status(status)
        if status == 204:
            self.clear_header("Content-Type")
        self.finish(dumps(body) if body is not None else None)

    async def reply_saved(self, status: int, body: Any = None) -> None:
        """``reply`` once what this request wrote is committed, from inside the commit that saves it.

        The answer leaves in the commit's own turn of the loop: a handler that awaited ``saved()`` and then replied
        would answer a whole turn later, after every other callback of that turn (in a busy room, tens of
        milliseconds). A failed commit raises ``SaveError`` here (503, nothing accepted) and answers nothing else.
        """
        await self.core.db.saved(then=lambda: self.reply(status, body))
        if not self._finished:  # the commit could not call it (the database was closing), or it raised (logged)
            self.reply(status, body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Problem):
            body = exc.body
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, SaveError):
            self.set_status(503)
            body = Problem(503, "Service Unavailable", f"Nothing was accepted: {exc}", type=f"{ERRORS}#storage").body
        elif status_code == 405:
            body = Problem(405, "Request method not allowed", f"Request method '{self.request.method}' not supported",
                           type=f"{ERRORS}#wrong-verb").body
        elif status_code == 404:
            body = Problem(404, "Not Found", f"No resource at {self.request.path}", type=f"{ERRORS}#not-found").body
        elif status_code < 500:
            body = Problem(status_code, "Bad Request", "The request could not be understood").body
        else:
            body = Problem(500, "Internal Error", "The sandbox failed; please report this as a bug",
                           type=f"{ERRORS}#internal-error").body
        self.problem_title = body.get("title")
        self.finish(dumps(body))

    def on_finish(self) -> None:
        # Per-account activity for the workshop dashboard: when this account last asked, and what went wrong.
        if self.account_id is not None:
            self.core.activity.request(self.account_id, self.get_status(), self.problem_title or self._reason,
                                       api=not self.request.path.startswith("/_sandbox"),
                                       on_purpose=self.request.headers.get(ON_PURPOSE_HEADER))

    # -- the one body parser ----------------------------------------------------------------------------
    def _media_type(self) -> str:
        return self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def _parse_json(self, raw: bytes) -> Any:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:  # also bad UTF-8 and nesting past orjson's own limit
            raise self.invalid([{"name": "body", "reason": f"is not valid JSON ({exc})"}]) from exc
        if (raw.count(b"[") + raw.count(b"{") > MAX_DEPTH) and _too_deep(value):
            raise self.invalid([{"name": "body", "reason": f"is nested more than {MAX_DEPTH} levels deep"}])
        return value

    def body(self, *, form: bool = False, empty: Any = None) -> Any:
        """The request body, checked for size (413) and content type (415) and parsed (400).

        Args:
            form: accept a form-encoded body too (the rest.nexmo.com style): the answer is then a dict of strings,
                the query arguments merged with the form (or with a JSON object's string fields).
            empty: what an empty body parses to.
        """
        media, raw = self._media_type(), self.kept_body()
        json_like = media == "application/json" or media.endswith("+json")
        if form:
            values = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.query_arguments.items()}
            if raw and media == "application/x-www-form-urlencoded":
                try:
                    parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
                except (UnicodeDecodeError, ValueError) as exc:
                    raise Problem(400, "Bad Request", "The form body could not be read") from exc
                values.update({k: v[-1] for k, v in parsed.items()})
            elif raw and json_like:
                parsed_json = self._parse_json(raw)
                if isinstance(parsed_json, dict):
                    values.update({k: v for k, v in parsed_json.items() if isinstance(v, str)})
            elif raw:
                raise self._unsupported(media, "application/x-www-form-urlencoded', 'application/json")
            return values
        if not raw.strip():
            return empty
        if not json_like:  # a body needs a JSON content type: no guessing what other bytes mean
            raise self._unsupported(media or "none", "application/json")
        return self._parse_json(raw)

    def _unsupported(self, media: str, allowed: str) -> Problem:
        return Problem(415, "Unsupported Content-Type header",
                       f"Unsupported Content-Type '{media}'. Must be one of the following: '{allowed}'",
                       type=f"{self.errors_base()}#content-type-header")

    # -- errors of this family --------------------------------------------------------------------------
    def errors_base(self) -> str:
        return APP_ERRORS if self.family == "application" else ERRORS

    def invalid(self, problems: list[dict]) -> Problem:
        """The validation failure of this API family, one ``invalid_parameters`` entry per problem."""
        if self.family == "application":
            return Problem(400, "Bad Request", "The request failed due to validation errors",
                           type=f"{APP_ERRORS}#payload-validation", invalid_parameters=problems)
        if self.family == "v1":
            return Problem(422, "Invalid params", "The value of one or more parameters is invalid.",
                           type=f"{MESSAGES_ERRORS}#1150", invalid_parameters=problems)
        n = len(problems)
        return Problem(400, "Your request parameters didn't validate.",
                       f"Found errors validating {n} of your submitted parameter{'s' if n != 1 else ''}.",
                       type=ERRORS, invalid_parameters=problems)

    # -- authentication ---------------------------------------------------------------------------------
    def authenticate(self, *, basic_only: bool = False) -> tuple[str, Account, str | None]:
        """``(scheme, account, application_id)`` or a 401 in this family's shape."""
        try:
            scheme, account, app_id = self.core.auth.authenticate(self.request.headers.get("Authorization"),
                                                                  self.request.method, self.request.path)
            if basic_only and scheme != "basic":  # a verified JWT, on the wrong API: the account's own mistake
                raise AuthError("bearer", "this API takes Basic credentials", account.id)
            self.account_id = account.id
            if scheme == "jwt":
                self.core.activity.step(account.id, "jwt")
            return scheme, account, app_id
        except AccessDenied as exc:  # the token is fine, what it may call is not this
            self.account_id = exc.account_id  # a verified token: its account's own request
            raise Problem(403, "Forbidden", f"Your JWT does not grant access to this resource: {exc.why}",
                          type=f"{ERRORS}#forbidden") from exc
        except AuthError as exc:
            # Recorded for an account only when the credentials proved to be its own (a JWT signed with its
            # application's key, expired say): an api_key or application id alone proves nothing.
            self.account_id = exc.account_id
            challenge = {"WWW-Authenticate": 'Basic realm="sandbox"' if basic_only else 'Bearer realm="sandbox"'}
            if self.family == "application":
                raise Problem(401, "Unauthorized", "You did not provide correct credentials.",
                              type=f"{ERRORS}#unauthorized", headers=challenge) from exc
            detail = exc.why if exc.scheme == "none" and self.family == "v1" else "Invalid Token"
            raise Problem(401, "Unauthorised", detail, type=f"{ERRORS}#unauthorized", headers=challenge) from exc


class ControlHandler(BaseHandler):
    """The sandbox's own endpoints under ``/_sandbox/``: they act on the primary account, or on the account named
    by Basic credentials (required in workshop mode, where only the primary account may move the shared clock)."""

    def account(self) -> Account:
        header = self.request.headers.get("Authorization")
        if not header:
            if self.core.settings.workshop:
                raise Problem(401, "Unauthorised", "Workshop mode: send your api_key:api_secret as Basic credentials",
                              type=f"{ERRORS}#unauthorized")
            return self.core.account
        try:
            account = self.core.auth.basic(header)
        except AuthError as exc:  # recorded for no account: naming an api_key proves nothing
            raise Problem(401, "Unauthorised", "Invalid credentials for the control API",
                          type=f"{ERRORS}#unauthorized") from exc
        self.account_id = account.id
        return account

    def instructor(self) -> None:
        """In workshop mode, refuse anyone but the primary account (the clock is shared by every attendee)."""
        if self.core.settings.workshop and self.account().id != self.core.account.id:
            raise Problem(403, "Forbidden", "Workshop mode: only the instructor's account can move the shared clock")

    def checked_body(self, definition: str) -> Any:
        body = self.body(empty={})
        problems = check("control.json", definition, body)
        if problems:
            raise self.invalid(problems)
        return body
