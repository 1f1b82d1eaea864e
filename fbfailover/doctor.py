"""``fbfailover doctor``: a checklist of a set-up, above all of the tunnel live mode depends on.

The usual live-mode failure is a tunnel that does not reach the receiver: Vonage then sends every webhook into
the void and the notebooks wait. ``round_trip`` sends a fresh nonce to ``FBFAILOVER_PUBLIC_URL``'s
``/_fbfailover/echo`` and checks that the answer comes from *this* receiver (the one on
``FBFAILOVER_RECEIVER_PORT``: same instance id, same nonce). When it does not, the check says why in one line: the
host name does not resolve (DNS), nothing listens there (refused), TLS failed, no answer in time, another service
answered, or another fbfailover receiver answered (the tunnel forwards to another port).

``checks`` runs the whole list (Python and package versions; ``.env`` and the mode with the URL requests go to;
the receiver; the round trip; credentials accepted by a harmless GET) and ``report`` prints it. Nothing is
changed anywhere: every request is a GET.
"""

from __future__ import annotations

import platform
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from urllib.parse import urlsplit

import requests

from fbfailover.config import Settings, describe_api_url, is_local_url
from fbfailover.errors import FbfailoverError
from fbfailover.webhooks.shared import ECHO_PATH, RECEIVER_HEADER, probe

__all__ = ["PACKAGES", "Check", "checks", "report", "round_trip"]

#: The packages whose versions the checklist shows (the first three are needed; the others are the notebooks').
PACKAGES = ("requests", "tornado", "pyjwt", "cryptography", "ipywidgets", "jupyterlab", "notebook")
_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    """One line of the checklist: ``ok`` is True (passed), False (failed) or None (only information)."""

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "info"}[self.ok]
        return f"[{mark}] {self.name}: {self.detail}"


def _no_proxy() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the check is about this machine's own route to the URL, not a proxy's
    return session


def _echo(session: requests.Session, base: str, nonce: str, timeout: float) -> requests.Response:
    return session.get(f"{base.rstrip('/')}{ECHO_PATH}", params={"nonce": nonce}, timeout=timeout,
                       allow_redirects=False)


def _why_unreachable(exc: requests.RequestException, url: str) -> str:
    """One line saying why ``url`` could not be reached: DNS, refused, TLS or time."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    text = repr(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return (f"TLS failed at {host}:{port} ({_short(exc)}): is it an https URL to a plain-http port, or a "
                f"tunnel without a valid certificate?")
    if isinstance(exc, requests.Timeout):
        return f"no answer from {host}:{port} within the timeout: is the tunnel running?"
    if "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return f"DNS: the host name {host} does not resolve (a typo, or a tunnel address that has expired?)"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return f"connection refused at {host}:{port}: nothing listens there (is the tunnel running, on this port?)"
    return f"could not connect to {host}:{port} ({_short(exc)})"


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def round_trip(public_url: str | None, receiver_port: int, *, timeout: float = _TIMEOUT) -> Check:
    """Whether a nonce sent to ``public_url`` arrives at the receiver on ``127.0.0.1:receiver_port``.

    Args:
        public_url: ``FBFAILOVER_PUBLIC_URL`` (None: not set).
        receiver_port: ``FBFAILOVER_RECEIVER_PORT``.
        timeout: seconds to wait for each answer.

    Returns:
        A ``Check`` named ``round trip through FBFAILOVER_PUBLIC_URL``; when it fails, ``detail`` says why.
    """
    name = "round trip through FBFAILOVER_PUBLIC_URL"
    if not public_url:
        return Check(name, False, "FBFAILOVER_PUBLIC_URL is not set: live mode needs the public https address of "
                                  f"a tunnel to port {receiver_port} (`ngrok http {receiver_port}`)")
    session = _no_proxy()
    try:
        mine = _echo(session, f"http://127.0.0.1:{receiver_port}", "local", timeout)
        instance = mine.json().get("instance") if mine.headers.get(RECEIVER_HEADER) and mine.ok else None
    except (requests.RequestException, ValueError):
        instance = None
    if not instance:
        return Check(name, False, f"no fbfailover receiver answers on 127.0.0.1:{receiver_port} "
                                  f"(FBFAILOVER_RECEIVER_PORT), so nothing can arrive: start it with "
                                  f"`fbfailover receiver --port {receiver_port}` (the notebooks start it in live mode)")
    nonce = secrets.token_urlsafe(12)
    try:
        answer = _echo(session, public_url, nonce, timeout)
    except requests.RequestException as exc:
        return Check(name, False, f"FBFAILOVER_PUBLIC_URL={public_url} does not reach this machine: "
                                  f"{_why_unreachable(exc, public_url)}")
    if not answer.headers.get(RECEIVER_HEADER):
        server = answer.headers.get("Server")
        who = f"{answer.status_code} {answer.reason}" + (f", Server: {server}" if server else "")
        return Check(name, False, f"FBFAILOVER_PUBLIC_URL={public_url} is answered by another service ({who}), "
                                  f"not by the fbfailover receiver: point the tunnel at port {receiver_port}")
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if body.get("nonce") != nonce or body.get("instance") != instance:
        return Check(name, False, f"FBFAILOVER_PUBLIC_URL={public_url} reaches an fbfailover receiver, but not the "
                                  f"one on port {receiver_port}: the tunnel forwards to another port or machine "
                                  f"(FBFAILOVER_RECEIVER_PORT={receiver_port})")
    return Check(name, True, f"a nonce sent to {public_url}{ECHO_PATH} arrived at the receiver on port "
                             f"{receiver_port}")


def _versions() -> Check:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    try:
        own = metadata.version("fbfailover")
    except metadata.PackageNotFoundError:
        own = "not installed (run from the source tree)"
    return Check("versions", None, f"Python {platform.python_version()}, fbfailover {own}, " + ", ".join(found))


def _mode(settings: Settings) -> tuple[str, Check]:
    if settings.sandbox_url:
        mode = "shared sandbox"
        where = f"the shared sandbox at {settings.sandbox_url}"
    elif settings.has_live_credentials:
        mode = "live"
        where = f"{settings.api_url} ({describe_api_url(settings.api_url)})"
    else:
        mode = "sandbox"
        where = f"the project's offline sandbox on this machine, {_project_sandbox()}"
    return mode, Check("mode", None, f"{mode}: requests go to {where}")


def _project_sandbox(environ: Mapping[str, str] | None = None) -> str:
    """Where the project's background sandbox listens (from its ``sandbox.json``), or that none runs yet."""
    from fbfailover.sandbox.instance import alive, files, read_state

    state = read_state(files(environ)[0])
    if state is None or not alive(state.pid):
        return "not running now (the first notebook starts it)"
    return f"running at {state.url} (pid {state.pid})"


def _receiver(port: int) -> Check:
    state = probe(port)
    name = f"receiver on FBFAILOVER_RECEIVER_PORT={port}"
    if state == "ours":
        return Check(name, True, f"an fbfailover receiver answers on 127.0.0.1:{port}")
    if state == "other":
        return Check(name, False, f"port {port} is taken by a program that is not an fbfailover receiver")
    return Check(name, False, f"nothing listens on 127.0.0.1:{port}: start it with `fbfailover receiver --port "
                              f"{port}` (the notebooks start it in live mode)")


def _signatures(settings: Settings) -> Check:
    name = "webhook signatures"
    if settings.signature_secret:
        return Check(name, True, "VONAGE_SIGNATURE_SECRET is set: the receiver verifies every webhook, answers an "
                                 "unsigned one 503 (an unsigned SMS API callback is kept, marked unverified)")
    return Check(name, None, "no VONAGE_SIGNATURE_SECRET: the receiver cannot tell Vonage's webhooks from anyone "
                             "else's, so nothing it gets drives a step (step 01 then takes the ids typed by hand)")


def _credentials(settings: Settings) -> Check:
    from fbfailover.client import VonageClient

    name = "credentials"
    if not (settings.api_key and settings.api_secret):
        return Check(name, None, "no VONAGE_API_KEY / VONAGE_API_SECRET: nothing to check (the sandbox needs none)")
    try:
        with VonageClient(settings) as client:
            client.list_applications(1, 1)
    except FbfailoverError as exc:
        return Check(name, False, f"GET /v2/applications with VONAGE_API_KEY {settings.api_key}: {_short(exc)}")
    return Check(name, True, f"VONAGE_API_KEY {settings.api_key} and its secret were accepted "
                             f"(GET /v2/applications, which changes nothing)")


def checks(settings: Settings, *, timeout: float = _TIMEOUT) -> list[Check]:
    """Run the checklist for ``settings``.

    The receiver and the round trip are checked in live mode, and whenever ``FBFAILOVER_PUBLIC_URL`` is set; the
    credentials whenever a key and secret are set (against the API they are for).

    Returns:
        The checks in order; the set-up is fine when none has ``ok`` False.
    """
    env_file = settings.env_file
    found = [_versions(), Check(".env", None, str(env_file) if env_file else
                                "none found: the defaults apply (the offline sandbox)")]
    mode, described = _mode(settings)
    found.append(described)
    if mode == "live" or settings.public_url:
        found.append(_receiver(settings.receiver_port))
        if not settings.public_url and is_local_url(settings.api_url) and is_local_url(settings.rest_url):
            found.append(Check("round trip through FBFAILOVER_PUBLIC_URL", None,
                               "the API is on this machine or network: it reaches the receiver without a tunnel"))
        else:
            found.append(round_trip(settings.public_url, settings.receiver_port, timeout=timeout))
        found.append(_signatures(settings))
    if mode != "sandbox":
        found.append(_credentials(settings))
    return found


def report(found: list[Check]) -> str:
    """The checklist as text, one line per check, then a last line with the verdict."""
    failed = [c for c in found if c.ok is False]
    verdict = "all checks passed" if not failed else f"{len(failed)} check(s) failed: " + ", ".join(
        c.name for c in failed)
    return "\n".join([*(c.line() for c in found), verdict])
