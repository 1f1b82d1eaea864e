"""The one exception tree of fbfailover.

Every error the package raises on purpose is a ``FbfailoverError``; each also inherits the builtin that
matches, so ``except ValueError`` keeps working for callers who do not know this package. A name in
parentheses is a second parent::

    FbfailoverError
    ├── ConfigError(ValueError)          a setting is missing or malformed
    ├── KeyFileError(ValueError)         a private key cannot be used
    │   ├── KeyNotFoundError(FileNotFoundError)
    │   ├── EncryptedKeyError
    │   ├── NotAKeyError
    │   └── KeyExistsError(FileExistsError)
    ├── TokenError(ValueError)           a JWT cannot be minted or read
    ├── ValidationError(ValueError)      a request body breaks a rule; carries invalid_parameters
    ├── SignatureError(ValueError)       a webhook's signature, payload_hash or iat does not check out
    │   └── UnsignedWebhookError         no signature at all where one is expected (answered 503: retried)
    ├── WaitTimeout(TimeoutError)        no matching webhook event arrived in time
    ├── SandboxError(RuntimeError)       the sandbox's control API or start-up fails
    ├── UncertainOutcomeError            a POST may or may not have been accepted: check before resending
    │   ├── UncertainTransportError(TransportError)   sent, then no answer (timeout, broken connection)
    │   └── UncertainServerError(ServerError)         sent, and the answer was a 5xx
    ├── TransportError(ConnectionError)  the API could not be reached at all
    └── ApiError                         the API answered with an error status
        ├── BadRequestError              400
        ├── AuthenticationError          401
        ├── PaymentRequiredError         402
        ├── ForbiddenError               403
        ├── NotFoundError                404
        ├── MethodNotAllowedError        405
        ├── ConflictError                409
        ├── UnsupportedMediaTypeError    415
        ├── UnprocessableEntityError     422
        ├── RateLimitError               429
        └── ServerError                  5xx

The sandbox adds a few leaves of its own under ``SandboxError`` (its database and workshop-account errors).
``str(error)`` is always one line a learner can act on.

In a notebook, one of these errors raised by a cell shows as a short block, not a traceback: the error's class,
what is wrong (for a ``ValidationError`` one line per field, each with its fix), where the cell called into
fbfailover, and how to see the full traceback (``%tb verbose``). IPython asks the exception itself for this
(``_render_traceback_``), so nothing is installed in the kernel and every other exception shows as always.
"""

from __future__ import annotations

import linecache
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "EncryptedKeyError",
    "FbfailoverError",
    "ForbiddenError",
    "KeyExistsError",
    "KeyFileError",
    "KeyNotFoundError",
    "MethodNotAllowedError",
    "NotAKeyError",
    "NotFoundError",
    "PaymentRequiredError",
    "RateLimitError",
    "SandboxError",
    "ServerError",
    "SignatureError",
    "TokenError",
    "TransportError",
    "UncertainOutcomeError",
    "UncertainServerError",
    "UncertainTransportError",
    "UnprocessableEntityError",
    "UnsignedWebhookError",
    "UnsupportedMediaTypeError",
    "ValidationError",
    "WaitTimeout",
    "error_for_status",
]


_PACKAGE = str(Path(__file__).resolve().parent)
_RED, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


class FbfailoverError(Exception):
    """Raised for every failure fbfailover reports on purpose."""

    def _problems(self) -> list[str]:
        """What is wrong, one line each (the block IPython shows lists them)."""
        return [str(self)]

    def _render_traceback_(self) -> list[str]:
        """The lines IPython shows when a notebook cell raises this: a short block, not a traceback.

        IPython calls this instead of formatting a traceback (``InteractiveShell.showtraceback``). In IPython's
        verbose mode (``%tb verbose``, or ``%xmode verbose`` for every error) the full traceback is given instead.
        """
        shell = _ipython()
        if shell is not None and getattr(shell.InteractiveTB, "mode", "") == "Verbose":
            return shell.InteractiveTB.structured_traceback(type(self), self, self.__traceback__)
        lines = [f"{_RED}{_BOLD}{type(self).__name__}{_RESET}{_RED}: {self._headline()}{_RESET}"]
        lines += [f"    {line}" for line in self._problems()]
        where = _where_called(self.__traceback__)
        if where:
            lines.append(f"  {where}")
        lines.append(f"  {_DIM}(fbfailover's own error; the full traceback: run %tb verbose){_RESET}")
        return lines

    def _headline(self) -> str:
        return "" if len(self._problems()) == 1 and self._problems()[0] == str(self) else str(self)


def _ipython() -> Any:
    """The running IPython shell, if this process has one (IPython is never imported here)."""
    module = sys.modules.get("IPython")
    getter = getattr(module, "get_ipython", None)
    return getter() if getter is not None else None


def _where_called(tb: Any) -> str:
    """``in this cell, line 7: sms_item(...)``: the learner's line that called into fbfailover, and which function."""
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno, tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    inside = [i for i, (name, _, _) in enumerate(frames) if name.startswith(_PACKAGE)]
    if not inside or inside[0] == 0:
        return ""
    filename, lineno, _ = frames[inside[0] - 1]
    called = frames[inside[0]][2]
    code = linecache.getline(filename, lineno).strip()
    place = (f"in this cell, line {lineno}" if "ipykernel_" in filename or filename.startswith("<ipython")
             else f"in {filename}, line {lineno}")
    return f"{place}, calling {called}(){f': {code}' if code else ''}"


class ConfigError(FbfailoverError, ValueError):
    """Raised when a setting is missing or malformed; the message names the variable."""


class KeyFileError(FbfailoverError, ValueError):
    """Raised when a private key cannot be loaded or saved."""


class KeyNotFoundError(KeyFileError, FileNotFoundError):
    """Raised when the private key file does not exist."""


class EncryptedKeyError(KeyFileError):
    """Raised when the private key is protected by a passphrase (Vonage keys never are)."""


class NotAKeyError(KeyFileError):
    """Raised when the file or text is not a PEM private key."""


class KeyExistsError(KeyFileError, FileExistsError):
    """Raised when saving would overwrite an existing key without ``overwrite=True``."""


class TokenError(FbfailoverError, ValueError):
    """Raised when a JWT cannot be minted (bad lifetime, bad claims) or decoded for display."""


class ValidationError(FbfailoverError, ValueError):
    """Raised when a request body breaks a rule of the API, before anything is sent.

    ``invalid_parameters`` is a list of ``{"name": <field path>, "reason": <text>}`` like the API's own.
    """

    def __init__(self, invalid_parameters: Sequence[Mapping[str, str]]):
        self.invalid_parameters = [dict(p) for p in invalid_parameters]
        first = self.invalid_parameters[0] if self.invalid_parameters else {"name": "?", "reason": "invalid"}
        more = len(self.invalid_parameters) - 1
        text = f"{first['name']}: {first['reason']}"
        if more > 0:
            text += f" (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(text)

    def _headline(self) -> str:
        return "nothing was sent; fix " + ("this field:" if len(self.invalid_parameters) == 1 else "these fields:")

    def _problems(self) -> list[str]:
        return [f"{p['name']}: {p['reason']}" for p in self.invalid_parameters] or [str(self)]

    @property
    def fields(self) -> dict[str, str]:
        """Map each offending field path to its reason (first reason wins)."""
        out: dict[str, str] = {}
        for p in self.invalid_parameters:
            out.setdefault(p["name"], p["reason"])
        return out


class SignatureError(FbfailoverError, ValueError):
    """Raised when a webhook's signature, ``payload_hash`` or ``iat`` does not check out."""


class UnsignedWebhookError(SignatureError):
    """Raised when a webhook carries no signature at all although one is expected (a signature secret is set).

    Vonage sends an unsigned Messages or Dispatch callback only after an internal error and signs its retry, so a
    receiver answers it with a 5xx (retried) rather than a 401 (final), and stores nothing.
    """


class WaitTimeout(FbfailoverError, TimeoutError):
    """Raised when ``wait_for`` sees no matching webhook event in time; lists what arrived instead.

    ``wanted`` describes the event waited for; ``arrived`` holds the events (``fbfailover.webhooks.Event``)
    that came instead.
    """

    def __init__(self, message: str, *, wanted: str = "", arrived: Iterable[Any] = ()):
        self.wanted = wanted
        self.arrived = list(arrived)
        super().__init__(message)


class SandboxError(FbfailoverError, RuntimeError):
    """Raised when the sandbox's control API or start-up fails.

    For example when it cannot be reached, refuses a control call, or its database cannot be used.
    """


class UncertainOutcomeError(FbfailoverError):
    """Raised when a request that is not safe to repeat (a POST) may or may not have been accepted.

    The request was sent, then no answer came (``UncertainTransportError``: a timeout or a broken connection)
    or the answer was a 5xx (``UncertainServerError``). Sending it again could send a second message, so the
    client never does: find out first. ``check`` says how (for Dispatch and Messages: watch the status
    webhooks or the event feed); ``resource_id`` is the dispatch or message id when the answer carried one.
    """

    check: str = ""
    resource_id: str | None = None

    def _uncertain(self, text: str) -> str:
        return f"{text} — the request may or may not have been accepted; {self.check or 'check before resending it'}"


class TransportError(FbfailoverError, ConnectionError):
    """Raised when the API could not be reached (refused, DNS, timeout)."""

    def __init__(self, message: str, *, url: str = ""):
        self.url = url
        super().__init__(message)


class ApiError(FbfailoverError):
    """Raised when the API answers with an error status; carries the problem-details fields."""

    def __init__(
        self,
        status: int,
        *,
        method: str = "",
        url: str = "",
        type: str | None = None,
        title: str | None = None,
        detail: str | None = None,
        instance: str | None = None,
        invalid_parameters: Sequence[Mapping[str, Any]] | None = None,
        body: Any = None,
    ):
        self.status = status
        self.method = method
        self.url = url
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.invalid_parameters = [dict(p) for p in (invalid_parameters or [])]
        self.body = body
        super().__init__(self._one_line())

    def _headline(self) -> str:
        return f"the API answered {self.status} {self.title or 'error'}"

    def _problems(self) -> list[str]:
        lines = [self.detail] if self.detail and self.detail != self.title else []
        lines += [f"{p.get('name', '?')}: {p.get('reason', '')}" for p in self.invalid_parameters]
        if self.method and self.url:
            lines.append(f"(the request: {self.method} {self.url})")
        return lines or [str(self)]

    def _one_line(self) -> str:
        parts = [f"{self.status} {self.title or 'error'}"]
        if self.detail and self.detail != self.title:
            parts.append(self.detail)
        text = ": ".join(parts)
        if self.invalid_parameters:
            p = self.invalid_parameters[0]
            text += f" — {p.get('name', '?')}: {p.get('reason', '')}"
            if len(self.invalid_parameters) > 1:
                text += f" (and {len(self.invalid_parameters) - 1} more)"
        if self.method and self.url:
            text += f" [{self.method} {self.url}]"
        return text


class BadRequestError(ApiError):
    """Raised on 400: the API refused the request body."""


class AuthenticationError(ApiError):
    """Raised on 401: wrong API key/secret or an invalid JWT."""


class PaymentRequiredError(ApiError):
    """Raised on 402: the account balance is too low."""


class ForbiddenError(ApiError):
    """Raised on 403."""


class NotFoundError(ApiError):
    """Raised on 404: no such resource, or not yours."""


class MethodNotAllowedError(ApiError):
    """Raised on 405."""


class ConflictError(ApiError):
    """Raised on 409."""


class UnsupportedMediaTypeError(ApiError):
    """Raised on 415: the request was not JSON."""


class UnprocessableEntityError(ApiError):
    """Raised on 422 (Messages API v1 validation errors)."""


class RateLimitError(ApiError):
    """Raised on 429: Vonage did not accept the request; ``retry_after`` is its ``Retry-After`` header.

    GET, PUT and DELETE are retried first; a POST is not, so ``str()`` says when to try again.
    """

    def __init__(self, status: int = 429, *, retry_after: str | None = None, **fields: Any):
        self.retry_after = retry_after.strip() if retry_after and retry_after.strip() else None
        super().__init__(status, **fields)

    def _one_line(self) -> str:
        text = super()._one_line() + " — not accepted; "
        if self.retry_after is None:
            return text + "wait a little and try again"
        if self.retry_after.isdigit():
            return text + f"try again in {self.retry_after} s (Retry-After)"
        return text + f"try again after {self.retry_after} (Retry-After)"


class ServerError(ApiError):
    """Raised on 5xx (GET, PUT and DELETE once retries are exhausted)."""


class UncertainServerError(UncertainOutcomeError, ServerError):
    """Raised when a POST was answered with a 5xx: it may or may not have been accepted, so it is not resent.

    Args:
        status: the 5xx status.
        check: how to find out whether the request was accepted.
        resource_id: the dispatch or message id, when the answer carried one.
        **fields: as for ``ApiError``.
    """

    def __init__(self, status: int, *, check: str = "", resource_id: str | None = None, **fields: Any):
        self.check = check
        self.resource_id = resource_id
        super().__init__(status, **fields)

    def _one_line(self) -> str:
        return self._uncertain(super()._one_line())


class UncertainTransportError(UncertainOutcomeError, TransportError):
    """Raised when a POST was sent but no answer came (timeout, broken connection): it may have been accepted.

    Args:
        message: what happened, e.g. ``"no answer from URL within 10 s"``.
        url: the URL the request went to.
        check: how to find out whether the request was accepted.
    """

    def __init__(self, message: str, *, url: str = "", check: str = ""):
        self.check = check
        super().__init__(self._uncertain(message), url=url)


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[ApiError]:
    """Return the ApiError subclass for an HTTP status (ServerError for any 5xx)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
