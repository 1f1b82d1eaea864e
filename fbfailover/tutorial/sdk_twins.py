"""The Node and Python twins of a send: the same request as a program that uses Vonage's libraries.

Each builder is pure: its text is a function of the body and the host, nothing else. Each library is described by a
``Library`` entry: the version the twins name, how it was installed, and what running the twin against the sandbox
showed (``make twins`` runs every twin and checks each of these facts against the request it really sent, so the
comments the twins print are measured, not guessed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fbfailover.channels import CHANNELS, TableMapping

__all__ = [
    "NEXMO",
    "PYTHON_REQUESTS",
    "PYTHON_SDK",
    "SERVER_SDK",
    "Library",
    "comment_lines",
    "js_literal",
    "node_dispatch_twin",
    "node_messages_twin",
    "py_literal",
    "python_dispatch_twin",
    "python_sdk_classes",
    "python_sdk_twin",
]


@dataclass(frozen=True)
class Library:
    """One library a twin uses, and what running that twin against the sandbox showed (``make twins`` checks each).

    Attributes:
        name: the package (npm or PyPI) the twin imports. version: the version ``make twins`` runs (the
            lockfile's, or the pin). install: the install line the twin prints.
        user_agent: the ``User-Agent`` it sends; ``{node}``, ``{python}``... stand for a version.
        accept: the ``Accept`` header it sends. target: the request target (path and query string).
        body_format: how it writes the JSON body: ``compact``, ``spaced`` (``", "`` and ``": "``) or ``indented``.
        jwt_claims: the claims of the JWT it mints, sorted. jwt_lifetime: ``exp - iat`` in seconds (None: no exp).
        answer_shown: the keys of the API's answer the twin's program prints (the library may drop others).
        reach: what it needs to reach a host that is not Vonage's.
    """

    name: str
    version: str
    install: str
    user_agent: str
    accept: str
    target: str
    body_format: str
    jwt_claims: tuple[str, ...]
    jwt_lifetime: int | None
    answer_shown: tuple[str, ...]
    reach: str

    def shown_user_agent(self) -> str:
        """The ``User-Agent`` as the twins print it (``<node version>`` for ``{node}``)."""
        return re.sub(r"\{(\w+)\}", r"<\1 version>", self.user_agent)

    def facts(self) -> str:
        """What ``make twins`` saw this library send, as one sentence for a twin's comment."""
        lifetime = (f"exp = iat + {self.jwt_lifetime} s" if self.jwt_lifetime is not None
                    else "no exp: Vonage then allows 15 minutes")
        return (f"Checked against the sandbox by make twins ({self.name} {self.version}): it sends POST {self.target} "
                f'with User-Agent "{self.shown_user_agent()}", Accept "{self.accept}", Content-Type '
                f'"application/json", {self.body_format} JSON and a fresh JWT with {", ".join(self.jwt_claims)} '
                f"({lifetime}). To reach another host: {self.reach}.")


NEXMO = Library(
    name="nexmo", version="2.7.0-beta-1", install="npm install nexmo@2.7.0-beta-1",
    user_agent="nexmo-node/2.7.0-beta-1 node/{node}", accept="application/json", target="/v0.1/dispatch?",
    body_format="compact", jwt_claims=("application_id", "iat", "jti"), jwt_lifetime=None,
    answer_shown=("dispatch_uuid",),
    reach="apiHost names the host, and its port option (read by the library, not in its README) switches to "
          "plain http on any port but 443")
SERVER_SDK = Library(
    name="@vonage/server-sdk", version="3.27.0", install="npm install @vonage/server-sdk@3.27.0",
    user_agent="@vonage/server-sdk/3.0.0, node/{node},", accept="*/*", target="/v1/messages", body_format="compact",
    jwt_claims=("application_id", "exp", "iat", "jti"), jwt_lifetime=900, answer_shown=("message_uuid",),
    reach="apiHost is a whole base URL, so http://HOST:PORT works as well as https")
PYTHON_SDK = Library(
    name="vonage", version=">=4.5", install='pip install "vonage>=4.5" "vonage-messages>=1.5"',
    user_agent="vonage-python-sdk/{vonage} python/{python}", accept="application/json", target="/v1/messages",
    body_format="spaced", jwt_claims=("application_id", "exp", "iat", "jti"), jwt_lifetime=900,
    answer_shown=("message_uuid", "workflow_id"),
    reach="api_host is a host name (with an optional :port) and the SDK always builds https:// URLs, so another "
          "host needs TLS with a certificate your Python trusts (make twins puts a local TLS terminator in front "
          "of the sandbox and sets REQUESTS_CA_BUNDLE)")
PYTHON_REQUESTS = Library(
    name="requests", version=">=2.31", install='pip install "vonage>=4.5" requests',
    user_agent="python-requests/{requests}", accept="*/*", target="/v0.1/dispatch", body_format="spaced",
    jwt_claims=("application_id", "exp", "iat", "jti"), jwt_lifetime=900, answer_shown=("dispatch_uuid",),
    reach="API is a whole base URL, so http://HOST:PORT works as well as https")

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def js_literal(value: Any, indent: str = "") -> str:
    """``value`` as a JavaScript literal: JSON, with identifier keys left unquoted as Vonage's snippets write them."""
    inner = indent + "  "
    if isinstance(value, Mapping) and value:
        items = [f"{inner}{k if _IDENTIFIER.match(str(k)) else json.dumps(str(k))}: {js_literal(v, inner)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f",\n{indent}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(f"{inner}{js_literal(v, inner)}" for v in value) + f",\n{indent}]"
    return json.dumps(value, ensure_ascii=False)


def py_literal(value: Any, indent: str = "") -> str:
    """``value`` as a Python literal, one item per line."""
    inner = indent + "    "
    if isinstance(value, Mapping) and value:
        items = [f"{inner}{k!r}: {py_literal(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f",\n{indent}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(f"{inner}{py_literal(v, inner)}" for v in value) + f",\n{indent}]"
    return repr(value)


def _origin(host: str) -> tuple[str, str, int | None]:
    """``(scheme, hostname, port or None)`` of a base URL such as ``https://api.nexmo.com``."""
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a twin's host is a base URL such as https://api.nexmo.com, not {host!r}")
    return parts.scheme, parts.hostname, parts.port


def _note(library: Library, *lines: str) -> list[str]:
    return [*lines, library.facts()]


def comment_lines(prefix: str, lines: list[str], width: int = 110) -> list[str]:
    """Wrap each line into comment lines of at most ``width`` characters."""
    out = []
    for line in lines:
        words, row = line.split(), prefix
        for word in words:
            if len(row) + len(word) + 1 > width and row != prefix:
                out.append(row)
                row = prefix
            row += ("" if row == prefix else " ") + word
        out.append(row)
    return out


# --- Node -------------------------------------------------------------------------------------------------

def nexmo_options(host: str) -> str:
    """The options argument that points nexmo 2.x at ``host`` (``{ apiHost: "api.nexmo.com" }`` for Vonage).

    Raises:
        ValueError: for https on a port other than 443 (the library speaks plain http on any other port).
    """
    scheme, hostname, port = _origin(host)
    if scheme == "https" and port not in (None, 443):
        raise ValueError("nexmo 2.x speaks https on port 443 only: any other port is plain http")
    if scheme == "http":
        return f'{{ apiHost: "{hostname}", port: {port or 80} }}'
    return f'{{ apiHost: "{hostname}" }}'


def node_dispatch_twin(body: Mapping[str, Any], host: str) -> str:
    """The Dispatch body as the original tutorial's Node program: ``nexmo.dispatch.create("failover", [...])``."""
    header = comment_lines("// ", [
        f"Node, as in the original tutorial: the nexmo library's beta. nexmo is deprecated (no longer maintained; "
        f"its successor @vonage/server-sdk has no Dispatch call), and {NEXMO.version} is the last release with "
        "nexmo.dispatch.",
        f"{NEXMO.install}   (then: node dispatch.js, with the VONAGE_* variables of .env exported)",
        *_note(NEXMO, "dispatch.create(template, workflow) posts {template, workflow} as the API documents (note "
               "the empty query string it adds)."),
    ])
    return "\n".join([
        *header,
        'const Nexmo = require("nexmo");',
        "",
        "const nexmo = new Nexmo({",
        "  apiKey: process.env.VONAGE_API_KEY,",
        "  apiSecret: process.env.VONAGE_API_SECRET,",
        "  applicationId: process.env.VONAGE_APPLICATION_ID,",
        "  privateKey: process.env.VONAGE_PRIVATE_KEY_PATH,",
        f"}}, {nexmo_options(host)});",
        "",
        f"nexmo.dispatch.create({json.dumps(body.get('template'))}, {js_literal(body.get('workflow'))}, "
        "(err, data) => {",
        "  if (err) {",
        "    console.error(err);",
        "    process.exitCode = 1;",
        "  } else {",
        "    console.log(data.dispatch_uuid);",
        "  }",
        "});",
    ])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _node_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A v1 message with the SDK's camelCase names (it turns them back into the API's snake_case)."""
    return {_camel(k): ([_node_message(m) for m in v] if k == "failover" and isinstance(v, list) else v)
            for k, v in message.items()}


def node_messages_twin(body: Mapping[str, Any], host: str) -> str:
    """The Messages API v1 body as a call of ``@vonage/server-sdk`` 3.x: ``vonage.messages.send({..., failover})``."""
    scheme, hostname, port = _origin(host)
    base = f"{scheme}://{hostname}" + (f":{port}" if port else "")
    header = comment_lines("// ", [
        f"Node: Vonage's current SDK, {SERVER_SDK.name} 3.x.",
        f"{SERVER_SDK.install}   (then: node send.js, with the VONAGE_* variables of .env exported)",
        *_note(SERVER_SDK, "send() takes the API's fields in camelCase and sends them in snake_case, with failover "
               "flat beside the first message as the API documents; it resolves to { messageUUID } only, so the "
               "answer's workflow_id never reaches your code."),
    ])
    return "\n".join([
        *header,
        'const { Vonage } = require("@vonage/server-sdk");',
        "",
        "const vonage = new Vonage({",
        "  applicationId: process.env.VONAGE_APPLICATION_ID,",
        "  privateKey: process.env.VONAGE_PRIVATE_KEY_PATH,",
        f'}}, {{ apiHost: "{base}" }});',
        "",
        f"vonage.messages.send({js_literal(_node_message(body))})",
        "  .then((result) => console.log(result))",
        "  .catch((error) => {",
        "    console.error(error);",
        "    process.exitCode = 1;",
        "  });",
    ])


# --- Python -----------------------------------------------------------------------------------------------

# vonage-messages model classes by (channel, message_type): the text messages the tutorial sends
_SDK_CLASSES = TableMapping(lambda: {(c.v1_name, "text"): c.sdk_text_class for c in CHANNELS if c.sdk_text_class})
_SDK_SKIPPED = ("channel", "message_type", "failover")


def python_sdk_classes(body: Mapping[str, Any]) -> list[str] | None:
    """The vonage-messages classes of the body's messages, or None when one has no class in this twin."""
    messages = [body, *(body.get("failover") or [])]
    names = [_SDK_CLASSES.get((str(m.get("channel")), str(m.get("message_type"))))
             if isinstance(m, Mapping) else None for m in messages]
    return None if None in names else [str(n) for n in names]


def _sdk_message(message: Mapping[str, Any], indent: str) -> str:
    name = _SDK_CLASSES[(str(message.get("channel")), str(message.get("message_type")))]
    inner = indent + "    "
    args = [f"{inner}{'from_' if k == 'from' else k}={py_literal(v, inner)}," for k, v in message.items()
            if k not in _SDK_SKIPPED]
    return "\n".join([f"{name}(", *args, f"{indent})"])


def python_sdk_host(host: str) -> str:
    """The ``api_host`` value for ``host``: a host name with its port, as the SDK takes it.

    Raises:
        ValueError: for an http:// host (the SDK always builds https:// URLs).
    """
    scheme, hostname, port = _origin(host)
    if scheme != "https":
        raise ValueError("Vonage's Python SDK builds only https:// URLs: put TLS in front of an http:// server")
    return hostname + (f":{port}" if port else "")


def python_sdk_twin(body: Mapping[str, Any], host: str) -> str:
    """The Messages API v1 body as a call of Vonage's Python SDK: ``client.messages.send(message, failover=[...])``.

    Raises:
        ValueError: when a message has no vonage-messages class in this twin (see ``python_sdk_classes``).
    """
    names = python_sdk_classes(body)
    if names is None:
        raise ValueError("a message of this body has no vonage-messages class in this twin")
    call = ["response = client.messages.send(", f"    {_sdk_message(body, '    ')},"]
    if body.get("failover"):
        call += ["    failover=[", *(f"        {_sdk_message(m, '        ')}," for m in body["failover"]), "    ],"]
    header = comment_lines("# ", [
        f"Python: Vonage's SDK. {PYTHON_SDK.install}   (failover= arrived in vonage-messages 1.5.0, which "
        "vonage 4.5 requires)",
        *_note(PYTHON_SDK, "send(message, failover=[...]) merges failover flat beside the first message's "
               "fields, as the API documents, and its answer keeps message_uuid and workflow_id."),
    ])
    return "\n".join([
        *header,
        "import os",
        "",
        "from vonage import Auth, HttpClientOptions, Vonage",
        f"from vonage_messages import {', '.join(sorted(set(names)))}",
        "",
        "client = Vonage(",
        '    Auth(application_id=os.environ["VONAGE_APPLICATION_ID"],',
        '         private_key=os.environ["VONAGE_PRIVATE_KEY_PATH"]),  # a path must end in .key (or another suffix)',
        f'    HttpClientOptions(api_host="{python_sdk_host(host)}"),  # a host name: the SDK always uses https://',
        ")",
        *call,
        ")",
        "print(response.message_uuid, response.workflow_id)",
    ])


def python_dispatch_twin(body: Mapping[str, Any], host: str) -> str:
    """The Dispatch body as a ``requests`` call with a JWT from ``vonage-jwt`` (the Python SDK has no Dispatch call)."""
    scheme, hostname, port = _origin(host)
    base = f"{scheme}://{hostname}" + (f":{port}" if port else "")
    header = comment_lines("# ", [
        "Python: Vonage's Python SDK has no Dispatch call (Vonage's own Python Dispatch tutorials post with "
        "requests), so this is the plain requests call, with the JWT minted by vonage-jwt, the SDK's token "
        f"package. {PYTHON_REQUESTS.install}",
        *_note(PYTHON_REQUESTS, "json=body posts the body as it is."),
    ])
    return "\n".join([
        *header,
        "import os",
        "",
        "import requests",
        "from vonage_jwt import JwtClient",
        "",
        f'API = "{base}"',
        'jwt = JwtClient(os.environ["VONAGE_APPLICATION_ID"], os.environ["VONAGE_PRIVATE_KEY_PATH"])',
        f"body = {py_literal(dict(body))}",
        "response = requests.post(",
        '    f"{API}/v0.1/dispatch",',
        "    json=body,",
        '    headers={"Authorization": "Bearer " + jwt.generate_application_jwt().decode()},',
        "    timeout=30,",
        ")",
        "response.raise_for_status()",
        'print(response.json()["dispatch_uuid"])',
    ])
