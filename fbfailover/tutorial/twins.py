"""The twins of a request: the same call as curl, as a Node program and as Python, against Vonage's own host.

In the sandbox a request goes to ``http://127.0.0.1:PORT``; its twins name ``https://api.nexmo.com`` (or
``https://rest.nexmo.com`` for the account settings) and say where this notebook really sent it. In live mode the
curl twin is the request as sent. ``twins_of(path, body, host)`` builds every twin of a send from the body and the
host alone (pure); ``make twins`` runs each of them against a sandbox (``tools/twins.py``).
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fbfailover.payloads import Request, to_curl
from fbfailover.tokens import MAX_TTL, MIN_TTL
from fbfailover.tutorial.display import Shown, code_block
from fbfailover.tutorial.sdk_twins import (
    NEXMO,
    PYTHON_REQUESTS,
    PYTHON_SDK,
    SERVER_SDK,
    Library,
    nexmo_options,
    node_dispatch_twin,
    node_messages_twin,
    python_dispatch_twin,
    python_sdk_classes,
    python_sdk_host,
    python_sdk_twin,
)
from fbfailover.tutorial.token_twins import (
    FBFAILOVER_JWT,
    NODE_JWT,
    PYTHON_JWT,
    TokenLibrary,
    node_token_twin,
    python_token_twin,
    shell_token_twin,
)

if TYPE_CHECKING:
    from fbfailover.tutorial.session import Tutorial

__all__ = ["KINDS", "VONAGE_API", "VONAGE_REST", "Twin", "Twins", "curl_twin", "on_vonage", "send_twins", "shorten_pem",
           "token_twins", "token_twins_of", "twins_of"]

VONAGE_API = "https://api.nexmo.com"
VONAGE_REST = "https://rest.nexmo.com"
KINDS = ("curl", "node", "python-sdk")
_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Twin:
    """One twin of a request: a program that makes the same call outside the notebook.

    Attributes:
        kind: ``curl``, ``node`` or ``python-sdk``. label: the caption shown above it.
        language: ``shell``, ``javascript`` or ``python``. text: the program.
        host: the part of ``text`` that names the host (``make twins`` replaces exactly this, once).
        library: what the program uses (None for the curl of a send).
    """

    kind: str
    label: str
    language: str
    text: str
    host: str
    library: Library | TokenLibrary | None = field(default=None, compare=False)


def on_vonage(request: Request) -> Request:
    """The same request addressed to Vonage's host for its API (``rest.nexmo.com`` for the account settings)."""
    parts = urlsplit(request.url)
    host = VONAGE_REST if parts.path.startswith("/account") else VONAGE_API
    return dataclasses.replace(request, url=host + parts.path + (f"?{parts.query}" if parts.query else ""))


def curl_twin(tut: Tutorial, request: Request) -> tuple[str, str]:
    """``(label, command)``: the request as curl against Vonage, the label saying where it was really sent.

    Args:
        tut: the session (in live mode the request already goes to Vonage, or to the URL you chose).
        request: the request as the client built it.
    """
    request, shortened = _key_shortened(request)
    note = ("; the public key is shortened, as tokens are (the whole PEM: openssl rsa -in private.key -pubout)"
            if shortened else "")
    if not tut.offline:
        return f"the same request with curl{note}", to_curl(request)
    parts = urlsplit(request.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return (f"the same request with curl, against Vonage (this notebook sent it to the sandbox at {origin}){note}",
            to_curl(on_vonage(request)))


def shorten_pem(pem: str, keep: int = 12) -> str:
    """``-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkq…\\n-----END PUBLIC KEY-----``: recognisable, not a screenful."""
    lines = [line for line in pem.strip().splitlines() if line.strip()]
    if len(lines) < 3 or not lines[0].startswith("-----BEGIN") or not lines[-1].startswith("-----END"):
        return pem[:keep] + "…"
    return f"{lines[0]}\n{''.join(lines[1:-1])[:keep]}…\n{lines[-1]}\n"


def _key_shortened(request: Request) -> tuple[Request, bool]:
    """The request with its body's ``keys.public_key`` PEM shortened (and whether there was one)."""
    body = request.json
    keys = body.get("keys") if isinstance(body, Mapping) else None
    pem = keys.get("public_key") if isinstance(keys, Mapping) else None
    if not isinstance(pem, str) or "-----BEGIN" not in pem:
        return request, False
    shorter = {**body, "keys": {**keys, "public_key": shorten_pem(pem)}}  # type: ignore[dict-item]
    return dataclasses.replace(request, json=shorter), True


def _curl(path: str, body: Mapping[str, Any], host: str) -> Twin:
    url = host.rstrip("/") + path
    text = to_curl(Request("POST", url, _JSON_HEADERS, json=body, auth="jwt"))
    return Twin("curl", "curl, against Vonage (export JWT first: fbfailover jwt)", "shell", text, url)


def _base(host: str) -> str:
    return host.rstrip("/")


# path -> kind -> the twin of a send, built from (body, host) only; None when this body has no such twin
_SENDS: dict[str, dict[str, Callable[[Mapping[str, Any], str], Twin | None]]] = {
    "/v0.1/dispatch": {
        "curl": lambda body, host: _curl("/v0.1/dispatch", body, host),
        "node": lambda body, host: Twin(
            "node", f"Node: nexmo {NEXMO.version}, the original tutorial's library (deprecated)", "javascript",
            node_dispatch_twin(body, host), nexmo_options(host), NEXMO),
        "python-sdk": lambda body, host: Twin(
            "python-sdk", "Python: requests, with a JWT from vonage-jwt (the SDK has no Dispatch call)", "python",
            python_dispatch_twin(body, host), f'API = "{_base(host)}"', PYTHON_REQUESTS),
    },
    "/v1/messages": {
        "curl": lambda body, host: _curl("/v1/messages", body, host),
        "node": lambda body, host: Twin(
            "node", f"Node: {SERVER_SDK.name} {SERVER_SDK.version}", "javascript", node_messages_twin(body, host),
            f'apiHost: "{_base(host)}"', SERVER_SDK),
        "python-sdk": lambda body, host: None if python_sdk_classes(body) is None else Twin(
            "python-sdk", f"Python: Vonage's SDK ({PYTHON_SDK.install.removeprefix('pip install ')})", "python",
            python_sdk_twin(body, host), f'api_host="{python_sdk_host(host)}"', PYTHON_SDK),
    },
}


def twins_of(path: str, body: Any, host: str = VONAGE_API, kinds: tuple[str, ...] = KINDS) -> list[Twin]:
    """The twins of ``POST path`` with ``body``, addressed to ``host`` (a base URL), in the order of ``KINDS``.

    Returns:
        curl first, then the Node and Python programs this path and body have; only curl for other paths.

    Raises:
        ValueError: when a library of the kinds asked for cannot be pointed at ``host`` (nexmo speaks https on
            port 443 only; Vonage's Python SDK speaks https only).
    """
    if not isinstance(body, Mapping):
        body = {}
    builders = _SENDS.get(path, {"curl": lambda b, h: _curl(path, b, h)})
    twins = [builders[kind](body, host) for kind in KINDS if kind in kinds and kind in builders]
    return [twin for twin in twins if twin is not None]


def token_twins_of(application_id: str, key_path: str, ttl: int, host: str = VONAGE_API,
                   acl: Mapping[str, Any] | None = None, kinds: tuple[str, ...] = KINDS) -> list[Twin]:
    """The twins of step 03: a JWT for ``application_id``, signed with the key FILE ``key_path`` and living ``ttl``
    seconds (with ``acl`` when given), minted outside the notebook and used once on ``host`` (a base URL).

    Returns:
        curl (``JWT=$(fbfailover jwt ...)``), then Node (``@vonage/jwt``), then Python (``vonage-jwt``).

    Raises:
        ValueError: for a lifetime Vonage refuses (under 30 s or over 24 h), or a host that is not a base URL.
    """
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
        raise ValueError(f"a token's lifetime is {MIN_TTL} s to 24 h ({MAX_TTL} s) for Vonage, not {ttl!r}")
    if urlsplit(host).scheme not in ("http", "https") or not urlsplit(host).hostname:
        raise ValueError(f"a twin's host is a base URL such as {VONAGE_API}, not {host!r}")
    base = _base(host)
    args = (application_id, key_path, ttl, base, acl)
    builders = {
        "curl": lambda: Twin("curl", "curl, with the token from fbfailover jwt", "shell", shell_token_twin(*args),
                             base + "/v0.1/dispatch", FBFAILOVER_JWT),
        "node": lambda: Twin("node", f"Node: {NODE_JWT.name} {NODE_JWT.version}", "javascript",
                             node_token_twin(*args), f"const API = {json.dumps(base)};", NODE_JWT),
        "python-sdk": lambda: Twin("python-sdk", "Python: vonage-jwt, the Python SDK's token package", "python",
                                   python_token_twin(*args), f"API = {json.dumps(base)}", PYTHON_JWT),
    }
    return [builders[kind]() for kind in KINDS if kind in kinds]


def token_twins(tut: Tutorial, token: Any) -> Twins:
    """The twins of the token step 03 minted (``tutorial.mint_token``'s panel): the same application, key file,
    lifetime and ``acl``, minted outside the notebook; the key file is named relative to the project's folder."""
    claims = token["claims"]
    settings = tut.settings.require("private_key_path")
    key = Path(settings.private_key_path)  # type: ignore[arg-type]
    try:
        shown_key = str(key.relative_to(tut.env_file.parent.resolve()))
    except ValueError:
        shown_key = str(key)
    ttl = token["times"].get("lifetime_seconds")
    if not isinstance(ttl, int):
        raise ValueError("this token has no exp: mint one with a lifetime (tutorial.mint_token does)")
    where = (f"they address Vonage; to try one on this notebook's sandbox, put {tut.settings.api_url} in its place"
             if tut.offline else f"they address {VONAGE_API}")
    note = (f"the same token minted outside this notebook (application {claims['application_id']}, key file "
            f"{shown_key}, lifetime {ttl} s{', with its acl' if 'acl' in claims else ''}), then used once; {where}")
    return Twins(note, token_twins_of(claims["application_id"], shown_key, ttl, acl=claims.get("acl")),
                 title="The same token, outside this notebook")


@dataclass(repr=False)
class Twins(Shown):
    """The twins of one request, with a note on where the notebook really sent it.

    Renders as ``text/plain`` (every twin in full, for strict nbval and readers without a kernel) and as HTML
    (one titled block per twin); ``fbfailover.widgets.TwinTabs`` shows the same twins as tabs.
    """

    note: str
    twins: list[Twin]
    title: str = "The same request, outside this notebook"

    def __iter__(self) -> Any:
        return iter(self.twins)

    def __getitem__(self, kind: str) -> Twin:
        """The twin of ``kind`` (``curl``, ``node`` or ``python-sdk``)."""
        for twin in self.twins:
            if twin.kind == kind:
                return twin
        raise KeyError(f"no {kind} twin here; kinds: {', '.join(t.kind for t in self.twins)}")

    def text(self) -> str:
        """Every twin as plain lines."""
        out = [self.title, f"  note: {self.note}"]
        for twin in self.twins:
            out.append(f"  {twin.label}:")
            out.extend(f"    {row}" for row in twin.text.splitlines())
        return "\n".join(out)

    def html(self) -> str:
        """Every twin as a captioned code block (what GitHub and nbviewer show)."""
        blocks = "".join(f"<div><i>{html.escape(t.label)}</i>{code_block(t.text, t.language)}</div>"
                         for t in self.twins)
        return (f"<div class='fbfailover-panel fbfailover-twins'><b>{html.escape(self.title)}</b>"
                f"<p>{html.escape(self.note)}</p>{blocks}</div>")


def send_twins(tut: Tutorial, request: Request) -> list[tuple[str, str]]:
    """``(label, text)`` of each twin of a send the client built, for a panel's code blocks (curl first)."""
    parts = urlsplit(request.url)
    label, curl = curl_twin(tut, request)
    others = [t for t in twins_of(parts.path, request.json) if t.kind != "curl"]
    return [(label, curl), *((t.label, t.text) for t in others)]
