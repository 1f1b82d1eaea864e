"""The twins of step 03: the same application JWT minted outside the notebook, then used once.

Each program mints a token for the learner's application id, private key FILE (the key itself is never part of a
twin) and lifetime, with one of Vonage's token libraries or this package's command, and uses it on
``POST /v0.1/dispatch`` with an empty body: the API authenticates before it validates, so **401** means it refused
the token and **400** (the empty body refused) means it took it; no message is sent. Each builder is pure: its
text is a function of those inputs and the host. ``make twins`` runs every one against a sandbox and checks the
token it really sent against the ``TokenLibrary`` entry the twin's comments print.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fbfailover.payloads import Request, to_curl
from fbfailover.tutorial.sdk_twins import comment_lines, js_literal

__all__ = ["FBFAILOVER_JWT", "NODE_JWT", "PROBE_PATH", "PYTHON_JWT", "TokenLibrary", "node_token_twin",
           "python_token_twin", "shell_token_twin"]

PROBE_PATH = "/v0.1/dispatch"  # what each twin calls with its token: an empty body, so no message is ever sent
_PROBE = ("The call is POST /v0.1/dispatch with an empty body: 401 means the API refused the token, 400 (the "
          "empty body refused) means it took it. No message is sent.")
_SUFFIX = re.compile(r"[.][a-zA-Z0-9_]+$")  # vonage-jwt reads a str key as a file path when it ends like this


@dataclass(frozen=True)
class TokenLibrary:
    """What mints a twin's JWT, and what running that twin against the sandbox showed (``make twins`` checks it).

    Attributes:
        name: the package or command. version: the version ``make twins`` runs. install: the line the twin prints.
        header: the JWT header it writes. claims: the claims it sets when given only a lifetime (and an ``acl``
            when the twin has one), sorted. default_ttl: ``exp - iat`` when no lifetime is given.
        takes: how it takes the lifetime and the key.
    """

    name: str
    version: str
    install: str
    header: Mapping[str, str]
    claims: tuple[str, ...]
    default_ttl: int
    takes: str

    def facts(self) -> str:
        """What ``make twins`` saw this library mint, as one sentence for a twin's comment."""
        return (f"Checked against the sandbox by make twins ({self.name} {self.version}): an RS256 token with "
                f"header {json.dumps(dict(self.header))} and the claims {', '.join(self.claims)} (plus acl when "
                f"you give one); exp = iat + the lifetime, {self.default_ttl} s by default. {self.takes}")


_RS256 = {"alg": "RS256", "typ": "JWT"}
_CLAIMS = ("application_id", "exp", "iat", "jti")
NODE_JWT = TokenLibrary(
    name="@vonage/jwt", version="1.14.0", install="npm install @vonage/jwt@1.14.0", header=_RS256, claims=_CLAIMS,
    default_ttl=900,
    takes="tokenGenerate(applicationId, privateKey, { ttl, acl }) takes the key itself (a string or a Buffer), "
          "not a path, so the program reads the file; a ttl of 0 means the default. With DEBUG=vonage:* set it "
          "logs the private key (its source does), so leave DEBUG unset.")
PYTHON_JWT = TokenLibrary(
    name="vonage-jwt", version=">=1.1", install='pip install "vonage-jwt>=1.1" requests', header=_RS256,
    claims=_CLAIMS, default_ttl=900,
    takes="generate_application_jwt(claims) has no lifetime option: it keeps the iat and exp you pass (so the "
          "program sets both from one clock reading) and always writes its own application_id; it returns bytes. "
          "A key given as a str that ends in a suffix such as .key is read as a file; any other str must be the "
          "PEM itself.")
FBFAILOVER_JWT = TokenLibrary(
    name="fbfailover jwt", version="of this project",
    install="fbfailover is this project's command: make lab installs it into .venv (.venv/bin/fbfailover)",
    header=_RS256, claims=_CLAIMS, default_ttl=900,
    takes="--ttl takes 30 s to 24 h and refuses anything else, as Vonage does; it prints only the token.")


def _shell_acl(acl: Mapping[str, Any] | None) -> list[str]:
    return [] if acl is None else [f"--acl {shlex.quote(json.dumps(acl, separators=(',', ':')))}"]


def shell_token_twin(application_id: str, key_path: str, ttl: int, host: str,
                     acl: Mapping[str, Any] | None = None) -> str:
    """``JWT=$(fbfailover jwt ...)`` and a curl that uses ``$JWT``: the original tutorial's shell way, today."""
    mint = " ".join(["JWT=$(fbfailover jwt", f"--application-id {shlex.quote(application_id)}",
                     f"--private-key {shlex.quote(key_path)}", f"--ttl {ttl}", *_shell_acl(acl)]) + ")"
    curl = to_curl(Request("POST", host.rstrip("/") + PROBE_PATH, {"Content-Type": "application/json"}, json={},
                           auth="jwt"))
    header = comment_lines("# ", [
        "Shell: mint the token with this package's command, then use it with curl. The original tutorial's "
        "nexmo jwt:generate comes from nexmo-cli, which is deprecated; Vonage's CLI today has vonage jwt create "
        "--app-id ... --private-key ... --ttl ... (make twins does not run it).",
        FBFAILOVER_JWT.install,
        FBFAILOVER_JWT.facts(),
        _PROBE,
    ])
    return "\n".join([*header, mint, curl.replace("curl -X", "curl -sS -X", 1) + " \\\n  -w '\\nHTTP %{http_code}\\n'"])


def node_token_twin(application_id: str, key_path: str, ttl: int, host: str,
                    acl: Mapping[str, Any] | None = None) -> str:
    """``tokenGenerate`` of ``@vonage/jwt`` (what ``@vonage/server-sdk`` signs with), then ``fetch`` with it."""
    options = {"ttl": ttl, **({"acl": dict(acl)} if acl is not None else {})}
    header = comment_lines("// ", [
        "Node: @vonage/jwt, the token package of Vonage's Node SDK (@vonage/server-sdk signs every request "
        "with it).",
        f"{NODE_JWT.install}   (then: node token.js, in the folder of {key_path}; Node 18 or newer has fetch)",
        NODE_JWT.facts(),
        _PROBE,
    ])
    return "\n".join([
        *header,
        'const { readFileSync } = require("node:fs");',
        'const { tokenGenerate } = require("@vonage/jwt");',
        "",
        f"const API = {json.dumps(host.rstrip('/'))};",
        f"const token = tokenGenerate({json.dumps(application_id)}, readFileSync({json.dumps(key_path)}), "
        f"{js_literal(options)});",
        "",
        "fetch(`${API}/v0.1/dispatch`, {",
        '  method: "POST",',
        '  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },',
        '  body: "{}",',
        "})",
        "  .then(async (response) => {",
        "    console.log(response.status, await response.text());",
        "    if (response.status === 401) process.exitCode = 1;",
        "  })",
        "  .catch((error) => {",
        "    console.error(error);",
        "    process.exitCode = 1;",
        "  });",
    ])


def python_token_twin(application_id: str, key_path: str, ttl: int, host: str,
                      acl: Mapping[str, Any] | None = None) -> str:
    """``JwtClient.generate_application_jwt`` of ``vonage-jwt`` (what Vonage's Python SDK signs with), then requests."""
    claims = '{"iat": now, "exp": now + ' + str(ttl) + ("" if acl is None else f', "acl": {dict(acl)!r}') + "}"
    key = repr(key_path) if _SUFFIX.search(key_path) else f"Path({key_path!r}).read_text()"
    header = comment_lines("# ", [
        "Python: vonage-jwt, the token package of Vonage's Python SDK (vonage 4.x signs every request with it).",
        PYTHON_JWT.install,
        PYTHON_JWT.facts(),
        _PROBE,
    ])
    return "\n".join([
        *header,
        "import time",
        *([] if _SUFFIX.search(key_path) else ["from pathlib import Path"]),
        "",
        "import requests",
        "from vonage_jwt import JwtClient",
        "",
        f"API = {json.dumps(host.rstrip('/'))}",
        f"client = JwtClient({application_id!r}, {key})",
        "now = int(time.time())",
        f"token = client.generate_application_jwt({claims}).decode()",
        'response = requests.post(f"{API}/v0.1/dispatch", json={}, headers={"Authorization": f"Bearer {token}"}, '
        "timeout=30)",
        "print(response.status_code, response.text)",
        "if response.status_code == 401:",
        '    raise SystemExit("the API refused the token")',
    ])
