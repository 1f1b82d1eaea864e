"""The base request handler: JSON everywhere, problem-details errors, body parsing and authentication."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs

import tornado.web

from .auth import AuthError
from .core import VERSION, Core
from .state import Account, SaveError, dumps

__all__ = ["APP_ERRORS", "GENERIC_ERRORS", "BaseHandler", "Problem", "trace_id"]

GENERIC_ERRORS = "https://developer.nexmo.com/api-errors"
APP_ERRORS = "https://developer.nexmo.com/api-errors/application"
MESSAGES_ERRORS = "https://developer.vonage.com/api-errors"


def trace_id() -> str:
    return uuid.uuid4().hex


class Problem(tornado.web.HTTPError):
    """Raised to answer with a problem-details JSON body (``status`` and the body's fields)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = GENERIC_ERRORS,
        invalid_parameters: list[dict] | None = None,
        **extra: Any,
    ):
        super().__init__(status)
        self.body: dict[str, Any] = {"type": type, "title": title, "detail": detail, "instance": trace_id()}
        if invalid_parameters is not None:
            self.body["invalid_parameters"] = invalid_parameters
        self.body.update(extra)


class BaseHandler(tornado.web.RequestHandler):
    """Every answer is JSON with ``X-Fbfailover-Sandbox``; every error is a problem-details body."""

    family = "generic"  # which error shapes: generic, application, dispatch, v1

    def initialize(self, core: Core, **options: Any) -> None:
        self.core = core
        self.route_options = options

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Fbfailover-Sandbox", VERSION)

    def reply(self, status: int, body: Any = None) -> None:
        self.set_status(status)
        self.finish(dumps(body) if body is not None else None)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Problem):
            body = exc.body
        elif isinstance(exc, SaveError):
            self.set_status(503)
            body = Problem(503, "Service Unavailable", f"Nothing was accepted: {exc}",
                           type=f"{GENERIC_ERRORS}#storage").body
        elif status_code == 405:
            body = Problem(
                405,
                "Request method not allowed",
                f"Request method '{self.request.method}' not supported",
                type=f"{GENERIC_ERRORS}#wrong-verb",
            ).body
        elif status_code == 404:
            body = Problem(
                404, "Not Found", f"No resource at {self.request.path}", type=f"{GENERIC_ERRORS}#not-found"
            ).body
        elif status_code < 500:
            body = Problem(status_code, "Bad Request", "The request could not be understood").body
        else:
            body = Problem(
                500,
                "Internal Error",
                "The sandbox failed; please report this as a bug",
                type=f"{GENERIC_ERRORS}#internal-error",
            ).body
        self.finish(dumps(body))

    # -- request bodies ---------------------------------------------------------------------------
    def _media_type(self) -> str:
        return self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def _check_size(self) -> None:
        if len(self.request.body) > self.core.settings.max_body:
            raise Problem(
                413,
                "Payload Too Large",
                f"The request body must be at most {self.core.settings.max_body} bytes",
                type=f"{GENERIC_ERRORS}#payload-too-large",
            )

    def json_body(self, *, empty: Any = None) -> Any:
        """The parsed JSON body; ``empty`` when there is none. Raises ``Problem`` (413, 415, 400)."""
        self._check_size()
        media = self._media_type()
        if media and media != "application/json" and not media.endswith("+json"):
            raise Problem(
                415,
                "Unsupported Content-Type header",
                f"Unsupported Content-Type '{media}'. Must be one of the following: 'application/json'",
                type=f"{self.errors_base()}#content-type-header",
            )
        raw = self.request.body
        if not raw.strip():
            return empty
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise self.invalid([{"name": "body", "reason": f"is not valid JSON ({exc})"}]) from exc

    def form_or_query(self) -> dict[str, str]:
        """Query arguments merged with a form-encoded body (the rest.nexmo.com style)."""
        self._check_size()
        values = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.query_arguments.items()}
        media = self._media_type()
        if self.request.body and media in ("", "application/x-www-form-urlencoded"):
            try:
                parsed = parse_qs(self.request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except (UnicodeDecodeError, ValueError) as exc:
                raise Problem(400, "Bad Request", "The form body could not be read") from exc
            values.update({k: v[-1] for k, v in parsed.items()})
        elif self.request.body and media == "application/json":
            try:
                parsed_json = json.loads(self.request.body)
            except ValueError as exc:
                raise Problem(400, "Bad Request", "The body is not valid JSON") from exc
            if isinstance(parsed_json, dict):
                values.update({k: v for k, v in parsed_json.items() if isinstance(v, str)})
        return values

    # -- errors of this family ----------------------------------------------------------------------
    def errors_base(self) -> str:
        return APP_ERRORS if self.family == "application" else GENERIC_ERRORS

    def invalid(self, problems: list[dict]) -> Problem:
        """The validation failure of this endpoint family, one ``invalid_parameters`` entry per problem."""
        if self.family == "application":
            return Problem(
                400,
                "Bad Request",
                "The request failed due to validation errors",
                type=f"{APP_ERRORS}#payload-validation",
                invalid_parameters=problems,
            )
        if self.family == "v1":
            return Problem(
                422,
                "Invalid params",
                "The value of one or more parameters is invalid.",
                type="https://developer.nexmo.com/api-errors/messages#1150",
                invalid_parameters=problems,
            )
        n = len(problems)
        return Problem(
            400,
            "Your request parameters didn't validate.",
            f"Found errors validating {n} of your submitted parameter{'s' if n != 1 else ''}.",
            type=MESSAGES_ERRORS,
            invalid_parameters=problems,
        )

    # -- authentication -------------------------------------------------------------------------------
    def authenticate(self, *, basic_only: bool = False) -> tuple[str, Account, str | None]:
        """``(scheme, account, application_id)`` or a 401 in this family's shape."""
        try:
            scheme, account, app_id = self.core.auth.authenticate(self.request.headers.get("Authorization"))
            if basic_only and scheme != "basic":
                raise AuthError("bearer", "this API takes Basic credentials")
            return scheme, account, app_id
        except AuthError as exc:
            self.set_header("WWW-Authenticate", 'Basic realm="sandbox"' if basic_only else 'Bearer realm="sandbox"')
            if self.family == "application":
                raise Problem(
                    401,
                    "Unauthorized",
                    "You did not provide correct credentials.",
                    type=f"{GENERIC_ERRORS}#unauthorized",
                ) from exc
            detail = exc.why if exc.scheme == "none" and self.family == "v1" else "Invalid Token"
            raise Problem(401, "Unauthorised", detail, type=f"{GENERIC_ERRORS}#unauthorized") from exc
