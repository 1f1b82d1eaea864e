"""A small HTTP client for the Vonage APIs of the tutorial, aimed at the sandbox or at Vonage alike.

One method per API call; each builds a secret-free ``Request`` (``request_for`` gives it to you, so a
notebook can show its curl twin), adds credentials only when sending, and maps error answers onto the
``errors`` tree in one place.

Retries never resend a request the API may have accepted: in live mode a second POST is a second
message, paid for. urllib3's ``Retry`` does the retrying, by this policy:

- a connection that could not be made (refused, DNS, connect timeout) is retried for every method:
  nothing was sent;
- 429 and 5xx answers, read timeouts and broken connections are retried only for the idempotent methods
  (GET, PUT, DELETE, HEAD, OPTIONS), honouring ``Retry-After`` (capped at 30 s);
- a POST is never resent once it was sent. A 429 raises ``RateLimitError`` saying when to try again
  (Vonage did not accept it); a 5xx raises ``UncertainServerError`` and a timeout or broken connection
  ``UncertainTransportError``: both are ``UncertainOutcomeError``, whose one line says that the request
  may or may not have been accepted and how to find out (for Dispatch and Messages, watch the status
  webhooks or the event feed; the dispatch or message id is named when the answer carried one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from . import __version__
from .config import Settings, is_loopback_url
from .errors import (
    ApiError,
    RateLimitError,
    TransportError,
    UncertainServerError,
    UncertainTransportError,
    error_for_status,
)
from .payloads import AuthKind, Request, account_settings_body
from .tokens import basic_auth_header, mint_application_jwt

__all__ = ["RETRY_STATUSES", "VonageClient"]

log = logging.getLogger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Methods whose repetition does what one request does: only these are resent once they reached the server.
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
USER_AGENT = f"fbfailover/{__version__}"
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}


class _CappedRetry(Retry):
    """urllib3 Retry whose wait for ``Retry-After`` is capped, so a server cannot stall a cell for hours."""

    MAX_RETRY_AFTER = 30.0

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.MAX_RETRY_AFTER)


def _retry(retries: int) -> Retry:
    # urllib3 retries connect errors for every method, but read errors and statuses only for allowed_methods.
    return _CappedRetry(
        total=retries, connect=retries, read=retries, status=retries, other=0, redirect=0,
        status_forcelist=RETRY_STATUSES, allowed_methods=_IDEMPOTENT,
        backoff_factor=0.2, backoff_max=5, respect_retry_after_header=True,
        raise_on_status=False,  # the last answer is returned and mapped onto an ApiError below
    )


def _may_have_arrived(exc: requests.RequestException) -> bool:
    """Whether the request may have reached the server before ``exc``: anything but a connection never made."""
    if not isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ContentDecodingError)):
        return False  # raised while preparing the request: a bad URL, header or body
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.ProxyError, requests.exceptions.SSLError)):
        return False
    reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else None
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError (refused, DNS) is one too


def _how_to_check(request: Request, resource_id: str | None = None) -> str:
    """How to find out whether a POST that got no clear answer was accepted."""
    path = urlsplit(request.url).path.rstrip("/")
    named = f" {resource_id}" if resource_id else ""
    if path.endswith("/dispatch"):
        return f"watch the status webhooks or the event feed for the dispatch{named} before sending it again"
    if path.endswith("/messages"):
        return f"watch the status webhooks or the event feed for the message{named} before sending it again"
    if path.endswith("/applications"):
        return "list your applications to see whether it was created before creating it again"
    if path.endswith("/account/settings"):
        return "sending the same settings again is harmless"
    return "check whether it took effect before sending it again"


def _resource_id(data: Any) -> str | None:
    if isinstance(data, dict):
        for key in ("dispatch_uuid", "message_uuid"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    return None


def _hint(url: str) -> str:
    if is_loopback_url(url):
        return " — is the sandbox running? start it with `fbfailover sandbox`"
    return " — check the URL and your network connection"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class VonageClient:
    """Calls the Applications, Account, Dispatch and Messages APIs at ``settings.api_url``/``rest_url``.

    Args:
        settings: where to send and which credentials to use.
        session: a requests Session to use as is (not closed by ``close``, no retry adapter mounted).
        timeout: seconds allowed to connect and to wait for each answer.
        retries: how often a 429/5xx answer or a refused connection is retried.
    """

    def __init__(self, settings: Settings, session: requests.Session | None = None, *,
                 timeout: float = 10.0, retries: int = 3):
        self.settings = settings
        self.timeout = timeout
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        if self._owns_session:
            adapter = HTTPAdapter(max_retries=_retry(retries))
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)

    def __enter__(self) -> VonageClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session:
            self.session.close()

    def __repr__(self) -> str:
        return f"VonageClient(api_url={self.settings.api_url!r}, rest_url={self.settings.rest_url!r})"

    # --- requests, without sending them ---------------------------------------------------------------
    def request_for(self, operation: str, *args: Any, **kwargs: Any) -> Request:
        """Return the Request a method would send, e.g. ``request_for("send_workflow", body)``.

        Raises:
            ValueError: when ``operation`` is not a method of this client.
        """
        builders: dict[str, Callable[..., Request]] = {
            "create_application": lambda body: self._api("POST", "/v2/applications", body, "basic"),
            "list_applications": lambda page=1, page_size=100: Request(
                "GET", f"{self._base()}/v2/applications", {"Accept": "application/json"},
                params={"page": page, "page_size": page_size}, auth="basic"),
            "get_application": lambda app_id: self._api(
                "GET", f"/v2/applications/{quote(app_id)}", None, "basic"),
            "update_application": lambda app_id, body: self._api(
                "PUT", f"/v2/applications/{quote(app_id)}", body, "basic"),
            "delete_application": lambda app_id: self._api(
                "DELETE", f"/v2/applications/{quote(app_id)}", None, "basic"),
            "account_settings": lambda: Request(
                "POST", f"{self.settings.rest_url.rstrip('/')}/account/settings",
                {"Accept": "application/json"}, form=account_settings_body(), auth="query"),
            "update_account_settings": lambda mo_callback_url=None, dr_callback_url=None: Request(
                "POST", f"{self.settings.rest_url.rstrip('/')}/account/settings",
                {"Accept": "application/json"},
                form=account_settings_body(mo_callback_url, dr_callback_url), auth="query"),
            "send_workflow": lambda body, auth="jwt": self._api("POST", "/v0.1/dispatch", body, auth),
            "send_message_v01": lambda body, auth="jwt": self._api("POST", "/v0.1/messages", body, auth),
            "send_message_v1": lambda body, auth="jwt": self._api("POST", "/v1/messages", body, auth),
        }
        if operation not in builders:
            raise ValueError(f"unknown operation {operation!r}; one of: {', '.join(builders)}")
        return builders[operation](*args, **kwargs)

    def _base(self) -> str:
        return self.settings.api_url.rstrip("/")

    def _api(self, method: str, path: str, body: Any, auth: AuthKind) -> Request:
        if auth not in ("jwt", "basic"):
            raise ValueError(f"auth must be 'jwt' or 'basic', not {auth!r}")
        headers = dict(_JSON) if body is not None else {"Accept": "application/json"}
        return Request(method, self._base() + path, headers, json=body, auth=auth)

    # --- the API calls ----------------------------------------------------------------------------------
    def create_application(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create an application (``POST /v2/applications``, Basic auth); see ``application_body``."""
        return self.send(self.request_for("create_application", body))

    def list_applications(self, page: int = 1, page_size: int = 100) -> dict[str, Any]:
        """List applications, one page (``GET /v2/applications``)."""
        return self.send(self.request_for("list_applications", page, page_size))

    def get_application(self, app_id: str) -> dict[str, Any]:
        """Fetch one application (``GET /v2/applications/{id}``)."""
        return self.send(self.request_for("get_application", app_id))

    def update_application(self, app_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Replace an application's name, capabilities or key (``PUT /v2/applications/{id}``)."""
        return self.send(self.request_for("update_application", app_id, body))

    def delete_application(self, app_id: str) -> dict[str, Any]:
        """Delete an application for good (``DELETE /v2/applications/{id}``); returns ``{}``."""
        return self.send(self.request_for("delete_application", app_id))

    def account_settings(self) -> dict[str, Any]:
        """Read the account-level webhooks and limits: ``POST {rest_url}/account/settings`` with no URLs.

        Vonage has no GET for these settings; a POST that sets nothing changes nothing and answers them
        (``mo-callback-url``, ``dr-callback-url``, ...).
        """
        return self.send(self.request_for("account_settings"))

    def update_account_settings(self, mo_callback_url: str | None = None,
                                dr_callback_url: str | None = None) -> dict[str, Any]:
        """Set the account-level inbound/delivery-receipt webhooks (``POST {rest_url}/account/settings``)."""
        return self.send(self.request_for("update_account_settings", mo_callback_url, dr_callback_url))

    def send_workflow(self, body: Mapping[str, Any], *, auth: AuthKind = "jwt") -> dict[str, Any]:
        """Start a Dispatch workflow (``POST /v0.1/dispatch``); returns ``{"dispatch_uuid": ...}``."""
        return self.send(self.request_for("send_workflow", body, auth))

    def send_message_v01(self, body: Mapping[str, Any], *, auth: AuthKind = "jwt") -> dict[str, Any]:
        """Send one message with Messages API v0.1 (``POST /v0.1/messages``)."""
        return self.send(self.request_for("send_message_v01", body, auth))

    def send_message_v1(self, body: Mapping[str, Any], *, auth: AuthKind = "jwt") -> dict[str, Any]:
        """Send a message with Messages API v1, failover included (``POST /v1/messages``)."""
        return self.send(self.request_for("send_message_v1", body, auth))

    # --- sending -------------------------------------------------------------------------------------
    def mint_jwt(self, ttl: int = 900) -> str:
        """Mint an application JWT from ``settings.application_id`` and ``settings.private_key_path``.

        Raises:
            ConfigError: when either setting is missing.
        """
        s = self.settings.require("application_id", "private_key_path")
        return mint_application_jwt(s.application_id, s.private_key_path, ttl=ttl)  # type: ignore[arg-type]

    def send(self, request: Request, *, bearer: str | None = None,
             on_response: Callable[[requests.Response], None] | None = None) -> dict[str, Any]:
        """Send a Request with its credentials and return the parsed JSON answer (``{}`` when empty).

        Args:
            request: what to send (``request_for`` builds it); ``request.auth`` says which credentials to add.
            bearer: for a ``jwt`` request, this token instead of a freshly minted one. It is the one escape
                hatch from the client's own care, so that a learner can see what the API answers to an expired
                token or one signed with another key (the failure gallery, notebook 06).
            on_response: called with the raw response (its ``.request`` holds the headers sent) before it is
                parsed, error answers included, e.g. to show the exchange in full.

        Returns:
            The parsed JSON answer.

        Raises:
            ValueError: ``bearer`` given for a request that is not authenticated with a JWT.
            ConfigError: the credentials the request needs are not configured.
            TransportError: the server could not be reached, or a GET/PUT/DELETE got no answer in time.
            UncertainTransportError: a POST was sent but no answer came (a ``TransportError`` too).
            UncertainServerError: a POST was answered with a 5xx (a ``ServerError`` too).
            ApiError: the server answered with an error status (a subclass per status).
        """
        headers = {"User-Agent": USER_AGENT, **request.headers}
        params = dict(request.params or {})
        if bearer is not None and request.auth != "jwt":
            raise ValueError(f"bearer= is for requests authenticated with a JWT, not auth={request.auth!r}")
        if request.auth == "jwt":
            # fresh per request, as the SDKs do, unless the caller brings a token on purpose
            headers["Authorization"] = f"Bearer {bearer if bearer is not None else self.mint_jwt()}"
        elif request.auth in ("basic", "query"):
            s = self.settings.require("api_key", "api_secret")
            if request.auth == "basic":
                headers["Authorization"] = basic_auth_header(s.api_key, s.api_secret)  # type: ignore[arg-type]
            else:
                params.update(api_key=s.api_key, api_secret=s.api_secret)
        try:
            response = self.session.request(request.method, request.url, params=params or None,
                                            json=request.json, data=request.form, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            # requests' own message repeats the query string, which holds the secret for query auth.
            cause = None if request.auth == "query" else exc
            if not _may_have_arrived(exc):
                raise TransportError(f"could not reach {request.url}" + _hint(request.url),
                                     url=request.url) from cause
            # Once retries are used up, urllib3 reports a read timeout as MaxRetryError(ReadTimeoutError).
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            timed_out = isinstance(exc, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError)
            what = f"no answer from {request.url} within {self.timeout:g} s" if timed_out else \
                f"the connection to {request.url} broke before an answer came"
            if request.method.upper() in _IDEMPOTENT:
                raise TransportError(what + _hint(request.url), url=request.url) from cause
            raise UncertainTransportError(what, url=request.url, check=_how_to_check(request)) from cause
        log.debug("%s %s -> %s", request.method, request.url, response.status_code)
        if on_response is not None:
            on_response(response)
        return self._parse(request, response)

    @staticmethod
    def _parse(request: Request, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        if status < 400:
            if not response.content:
                return {}
            if data is None:
                raise ApiError(status, method=request.method, url=request.url, title="Unexpected answer",
                               detail=f"expected JSON, got: {_one_line(response.text, 80)}",
                               body=response.text)
            return data
        fields: dict[str, Any] = {}
        if isinstance(data, dict):
            title = data.get("title") or data.get("error_title") or data.get("error-code-label")
            detail = data.get("detail") or data.get("error_text")
            invalid = data.get("invalid_parameters")
            fields = {"type": data.get("type"), "instance": data.get("instance"),
                      "invalid_parameters": [invalid] if isinstance(invalid, dict) else
                      [p for p in invalid or [] if isinstance(p, dict)]}
        else:
            title, detail = None, _one_line(response.text) or None
        title = str(title) if title is not None else (response.reason or "error")
        detail = _one_line(str(detail)) if detail is not None else None
        cls = error_for_status(status)
        if cls is RateLimitError:
            fields["retry_after"] = response.headers.get("Retry-After")
        elif status >= 500 and request.method.upper() not in _IDEMPOTENT:
            cls = UncertainServerError  # it was sent, and a 5xx does not say whether it was acted on
            fields["resource_id"] = _resource_id(data)
            fields["check"] = _how_to_check(request, fields["resource_id"])
        raise cls(status, method=request.method, url=request.url, title=title, detail=detail,
                  body=data if data is not None else response.text, **fields)
