"""Run every twin the notebooks show (curl, Node, Python) against a sandbox started for the run: ``make twins``.

Usage: ``python tools/twins.py [--kinds curl,node,python-sdk]``. For the token of step 03 and each send the
notebooks show (the Dispatch workflow of step 04, the Messages API v1 failover of step 05) it builds the twins
exactly as the notebook does (``fbfailover.tutorial.twins.token_twins_of`` for the run's application, key file and
lifetime, ``twins_of`` for a body; both with Vonage's host), replaces the host, and only the host, the way each
library takes it, and runs the text:

* curl with ``bash``: a send's ``$JWT`` minted by ``fbfailover jwt`` (the command step 03 shows), which the token's
  curl twin runs itself;
* Node with the libraries ``npm ci`` installed in ``tools/node`` (skipped, with one line, when ``node`` is missing);
* Python with this interpreter; Vonage's Python SDK builds only ``https://`` URLs, so it talks to a local TLS
  terminator whose throw-away CA the run trusts (``tools/recorder.py``).

Every request passes a recording forwarder in front of the sandbox. A twin is ok when the program exits 0, sent
exactly one request, to the path and with the JSON body the notebook describes (and the User-Agent, request target,
JSON layout and JWT claims its text claims), got 202, printed the id of the answer, and the sandbox then finished
that send as the notebook says: a final report ``completed`` after the SMS (Dispatch), or Messenger ``rejected``
and the SMS sent (v1). A token twin is ok when its program exits 0 and sent one ``POST /v0.1/dispatch`` with an
empty body, the API took its token (400 for the empty body, not 401), and the token decodes to the header and
claims its comments state, for the run's application, with ``exp - iat`` the lifetime its text shows and a
signature the application's public key verifies. The last line is ``twins_run=N twins_ok=N kinds=...``; the
exit status is 1 when a twin failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt as pyjwt
from recorder import Recorded, Recorder, make_tls_files

from fbfailover.client import VonageClient
from fbfailover.config import load_settings
from fbfailover.errors import TokenError
from fbfailover.keys import generate_private_key, load_private_key, public_pem, save_private_key
from fbfailover.payloads import application_body, message_v1, tutorial_workflow
from fbfailover.sandbox.embedded import SandboxControl
from fbfailover.tokens import verify_application_jwt
from fbfailover.tutorial.sdk_twins import Library
from fbfailover.tutorial.token_twins import PROBE_PATH, TokenLibrary
from fbfailover.tutorial.twins import KINDS, VONAGE_API, Twin, token_twins_of, twins_of

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tools" / "node"
PAGE_ID, PSID = "107084395103939", "4520378454745113"  # a Facebook Page and a user of it, made up for the run
FROM_NUMBER, TO_NUMBER = "447700900000", "447700900001"
KEY_FILE = "private.key"  # the run's key, as a learner in the project's folder names it (programs run there)
TOKEN_TTL = 300  # not any library's default (900 s), so a twin that drops its lifetime fails
# the form's optional acl, as a path the token then calls exactly (how Vonage matches acl patterns is not documented)
TOKEN_ACL = {"paths": {PROBE_PATH: {"methods": ["POST"]}}}
PROGRAM_TIMEOUT = 60.0
SUFFIX = {"shell": ".sh", "javascript": ".js", "python": ".py"}


@dataclass(frozen=True)
class TokenAsk:
    """A token twin: its kind and the token it mints (the application and key file are the run's)."""

    kind: str
    ttl: int
    acl: dict[str, Any] | None = None


@dataclass
class Case:
    """One twin of one send (or of step 03's token), as the notebook shows it, and how to judge its run."""

    send: str  # "jwt" | "dispatch" | "v1 failover"
    path: str
    body: dict[str, Any]
    twin: Twin | None = None  # a send's twin as shown; None for a token twin (built for the run's application)
    token: TokenAsk | None = None
    edit: Callable[[str], str] | None = None  # applied to the shown text (how a test breaks a token twin)

    @property
    def kind(self) -> str:
        return self.twin.kind if self.twin is not None else self.token.kind  # type: ignore[union-attr]

    def build(self, host: str, box: Sandbox | None) -> Twin:
        """This case's twin addressed to ``host``, built the way the notebook builds it."""
        if self.token is None:
            (twin,) = twins_of(self.path, self.body, host, kinds=(self.kind,))
        else:
            if box is None:
                raise TwinFailed("a token twin is built for the run's application: no sandbox given")
            (twin,) = token_twins_of(box.application_id, KEY_FILE, self.token.ttl, host, self.token.acl,
                                     kinds=(self.kind,))
        return twin

    def shown(self, box: Sandbox | None = None) -> Twin:
        """The twin as the notebook shows it (addressed to Vonage)."""
        twin = self.twin if self.twin is not None else self.build(VONAGE_API, box)
        return twin if self.edit is None else dataclasses.replace(twin, text=self.edit(twin.text))


@dataclass
class Result:
    case: Case
    ok: bool
    lines: list[str] = field(default_factory=list)

    def line(self) -> str:
        head = f"{'ok  ' if self.ok else 'FAIL'} {self.case.kind:<10} {self.case.send:<12}"
        return head + ("; ".join(self.lines) if self.lines else "")


class TwinFailed(Exception):
    """Raised when a twin's run does not show what the notebook describes."""


# --- the sends the notebooks show ---------------------------------------------------------------------------

def sends() -> list[tuple[str, str, dict[str, Any]]]:
    """``(name, path, body)`` of the notebooks' sends, built with the notebooks' own builders."""
    dispatch = tutorial_workflow(from_number=FROM_NUMBER, to_number=TO_NUMBER, fb_sender_id=PAGE_ID,
                                 fb_recipient_id=PSID)
    v1 = message_v1("messenger", PAGE_ID, PSID, "Hello from fbfailover on Facebook Messenger.",
                    failover=[message_v1("sms", FROM_NUMBER, TO_NUMBER, "We could not reach you on Messenger.")])
    return [("dispatch", "/v0.1/dispatch", dispatch), ("v1 failover", "/v1/messages", v1)]


def cases(kinds: tuple[str, ...] = KINDS) -> list[Case]:
    """The token twins of step 03 (without and with an ``acl``), then every twin of every send, as the notebook
    shows them (addressed to Vonage)."""
    asks = [("jwt", None), ("jwt + acl", TOKEN_ACL)]
    tokens = [Case(name, PROBE_PATH, {}, token=TokenAsk(kind, TOKEN_TTL, acl)) for name, acl in asks
              for kind in KINDS if kind in kinds]
    return tokens + [Case(name, path, body, twin) for name, path, body in sends()
                     for twin in twins_of(path, body, VONAGE_API) if twin.kind in kinds]


def run_text(case: Case, hosts: dict[str, str], box: Sandbox | None = None) -> str:
    """The twin's text with its host, and only its host, replaced by the run's (``hosts`` by kind), the way its
    library takes a host (the builder's ``host`` part for the run's URL).

    Raises:
        TwinFailed: when the shown text does not name its host exactly once.
    """
    shown = case.shown(box)
    rebuilt = case.build(hosts[shown.kind], box)
    if shown.text.count(shown.host) != 1:
        raise TwinFailed(f"the text names its host {shown.host!r} {shown.text.count(shown.host)} times, not once")
    return shown.text.replace(shown.host, rebuilt.host)


# --- the run's sandbox --------------------------------------------------------------------------------------

@dataclass
class Sandbox:
    url: str
    control: SandboxControl
    application_id: str
    api_key: str
    api_secret: str
    private_key: Path


@contextmanager
def sandbox(folder: Path) -> Iterator[Sandbox]:
    """A standalone ``fbfailover sandbox`` (manual clock) with an account and an application made for the run."""
    key, secret = secrets.token_hex(4), secrets.token_urlsafe(12)
    command = [sys.executable, "-m", "fbfailover.sandbox", "--port", "0", "--db", str(folder / "sandbox.sqlite3"),
               "--clock", "manual", "--api-key", key, f"--api-secret={secret}",
               f"--signature-secret={secrets.token_urlsafe(16)}", "--exit-when-idle", "600"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=folder, start_new_session=True)
    try:
        url = _listening_url(process)
        private_key = folder / "private.key"
        rsa = generate_private_key()
        save_private_key(rsa, private_key)
        settings = load_settings(environ={"VONAGE_API_KEY": key, "VONAGE_API_SECRET": secret,
                                          "VONAGE_API_URL": url, "VONAGE_REST_URL": url},
                                 env_file=folder / "absent.env")
        mailbox = f"{url}/_sandbox/mailbox/{key}/webhooks"
        with VonageClient(settings) as client:
            app = client.create_application(application_body(
                "fbfailover twins", f"{mailbox}/inbound", f"{mailbox}/status", public_key=public_pem(rsa)))
        control = SandboxControl(url, auth=(key, secret))
        try:
            yield Sandbox(url, control, app["id"], key, secret, private_key)
        finally:
            control.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _listening_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:  # the first lines it prints; it prints them as soon as it listens
        seen.append(line.rstrip())
        if match := re.search(r"listening on (http://\S+)", line):
            return match.group(1)
        if len(seen) > 20:
            break
    raise SystemExit("fbfailover sandbox did not start:\n" + "\n".join(seen))


# --- running one twin ---------------------------------------------------------------------------------------

def environment(box: Sandbox, ca: Path, token: str) -> dict[str, str]:
    """What a learner would have exported: the .env names, ``JWT``, this project's commands on ``PATH``
    (``fbfailover``), and trust in the run's CA."""
    # DEBUG=vonage:* would make @vonage/jwt log the private key
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VONAGE_", "NEXMO_", "FBFAILOVER_", "DEBUG"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    env.update({
        "VONAGE_API_KEY": box.api_key, "VONAGE_API_SECRET": box.api_secret,
        "VONAGE_APPLICATION_ID": box.application_id, "VONAGE_PRIVATE_KEY_PATH": str(box.private_key),
        "JWT": token, "NODE_PATH": str(NODE_DIR / "node_modules"), "NODE_EXTRA_CA_CERTS": str(ca),
        "REQUESTS_CA_BUNDLE": str(ca), "SSL_CERT_FILE": str(ca), "CURL_CA_BUNDLE": str(ca),
    })
    return env


def command_for(twin: Twin, program: Path) -> list[str]:
    if twin.language == "shell":
        return ["bash", str(program)]
    if twin.language == "javascript":
        return ["node", str(program)]
    return [sys.executable, str(program)]


def run_case(case: Case, box: Sandbox, recorder: Recorder, env: dict[str, str], folder: Path) -> Result:
    """Run one twin and judge it; never raises for a twin that fails."""
    result = Result(case, ok=False)
    try:
        # the Python SDK speaks https only; a token's Python twin uses requests, which takes http as well
        https = {"python-sdk"} if case.token is None else set()
        hosts = {kind: recorder.https_url if kind in https else recorder.http_url for kind in KINDS}
        shown = case.shown(box)
        text = run_text(case, hosts, box)
        program = folder / f"{case.send.replace(' ', '-')}-{shown.kind}{SUFFIX[shown.language]}"
        program.write_text(text + "\n")
        prepare(case, box)
        mark = len(recorder.exchanges)
        if case.token is not None:  # a token twin mints its own token: no $JWT from elsewhere
            env = {k: v for k, v in env.items() if k != "JWT"}
        done = subprocess.run(command_for(shown, program), cwd=folder, env=env, capture_output=True,
                              text=True, timeout=PROGRAM_TIMEOUT)
        seen = recorder.since(mark)
        if case.token is not None:
            judge_token(case, shown, box, done, seen, result)
        else:
            judge(case, done, seen, result)
            result.lines.append(outcome(case, box, seen[0]))
        result.ok = True
    except TwinFailed as exc:
        result.lines.append(str(exc))
    except subprocess.TimeoutExpired:
        result.lines.append(f"the program did not end within {PROGRAM_TIMEOUT:g} s")
    return result


def prepare(case: Case, box: Sandbox) -> None:
    """The recipient the notebook describes: Messenger never read (Dispatch), Messenger rejects (v1)."""
    box.control.reset_recipients()
    if case.path == "/v1/messages":
        box.control.set_recipient("messenger", PSID, "rejected")


def judge(case: Case, done: subprocess.CompletedProcess[str], seen: list[Recorded], result: Result) -> None:
    """Check the program's exit, the one request it sent and the API's answer.

    Raises:
        TwinFailed: naming the first thing that differs from what the notebook describes.
    """
    said = (done.stderr.strip() or done.stdout.strip()).splitlines()
    tail = said[-1][:300] if said else "(it printed nothing)"
    if not seen:
        raise TwinFailed(f"no request reached the sandbox (exit status {done.returncode}): {tail}")
    if len(seen) != 1:
        raise TwinFailed(f"{len(seen)} requests reached the sandbox, not one")
    request = seen[0]
    path = request.target.split("?")[0]
    if request.method != "POST" or path != case.path:
        raise TwinFailed(f"sent {request.method} {request.target}, not POST {case.path}")
    try:
        sent = json.loads(request.body)
    except ValueError as exc:
        raise TwinFailed(f"the body is not JSON: {request.body[:200]!r}") from exc
    if sent != case.body:
        raise TwinFailed(f"the sandbox saw another body than the notebook's: {json.dumps(sent)[:300]}")
    if request.status != 202:
        raise TwinFailed(f"the API answered {request.status}: {request.answer[:300]!r}")
    if done.returncode != 0:
        raise TwinFailed(f"exit status {done.returncode} after a 202: {tail}")
    answer = json.loads(request.answer or b"null")
    key = "dispatch_uuid" if case.path == "/v0.1/dispatch" else "message_uuid"
    if answer[key] not in done.stdout:
        raise TwinFailed(f"the program did not print the answer's {key} ({done.stdout.strip()[:200]!r})")
    check_library(case.twin.library, request, answer, done.stdout)
    result.lines.append(f"202 {key}={answer[key]}")
    result.lines.append(describe(request))


def judge_token(case: Case, shown: Twin, box: Sandbox, done: subprocess.CompletedProcess[str],
                seen: list[Recorded], result: Result) -> None:
    """Check a token twin's exit, the one request it sent, the API's answer and the token it carried.

    Raises:
        TwinFailed: naming the first thing that differs from what the twin's text and comments say.
    """
    said = (done.stderr.strip() or done.stdout.strip()).splitlines()
    tail = said[-1][:300] if said else "(it printed nothing)"
    if len(seen) != 1:
        raise TwinFailed(f"{len(seen)} requests reached the sandbox, not one (exit status {done.returncode}): {tail}")
    request = seen[0]
    if request.method != "POST" or request.target.split("?")[0] != case.path:
        raise TwinFailed(f"sent {request.method} {request.target}, not POST {case.path}")
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    if scheme != "Bearer" or not token:
        raise TwinFailed(f"no bearer token: Authorization {request.header('Authorization')!r}")
    try:
        answer = json.loads(request.answer or b"null")
    except ValueError:
        answer = request.answer[:200]
    if request.status != 400 or not isinstance(answer, dict) or not answer.get("invalid_parameters"):
        detail = answer.get("detail") if isinstance(answer, dict) else answer
        raise TwinFailed(f"the API answered {request.status} ({detail!r}), not 400 for the empty body: "
                         f"{'it refused the token' if request.status == 401 else 'the token was not put to the test'}")
    if done.returncode != 0:
        raise TwinFailed(f"exit status {done.returncode} after the API took the token: {tail}")
    if str(request.status) not in done.stdout:
        raise TwinFailed(f"the program did not print the API's status ({done.stdout.strip()[:200]!r})")
    check_token(shown.library, case.token, box, token)  # type: ignore[arg-type]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    result.lines.append(f"400 for the empty body: the API took the token "
                        f"(claims {','.join(sorted(claims))}, exp - iat = {claims['exp'] - claims['iat']} s)")


def check_token(library: TokenLibrary, ask: TokenAsk, box: Sandbox, token: str) -> None:
    """The token a twin sent is the one its text and comments describe, signed with the run's key.

    Raises:
        TwinFailed: for each thing that does not hold.
    """
    try:
        claims = verify_application_jwt(token, public_pem(load_private_key(box.private_key)))
    except (TokenError, pyjwt.PyJWTError) as exc:
        raise TwinFailed(f"the token does not verify with the application's public key: {exc}") from exc
    header = pyjwt.get_unverified_header(token)
    expected = tuple(sorted({*library.claims, *(["acl"] if ask.acl is not None else [])}))
    problems = []
    if header != dict(library.header):
        problems.append(f"header {header}, not {dict(library.header)}")
    if tuple(sorted(claims)) != expected:
        problems.append(f"claims {', '.join(sorted(claims))}, not {', '.join(expected)}")
    if claims.get("application_id") != box.application_id:
        problems.append(f"application_id {claims.get('application_id')!r}, not the run's {box.application_id!r}")
    if claims.get("exp", 0) - claims.get("iat", 0) != ask.ttl:
        problems.append(f"exp - iat = {claims.get('exp', 0) - claims.get('iat', 0)} s, not the {ask.ttl} s shown")
    if ask.acl is not None and claims.get("acl") != ask.acl:
        problems.append(f"acl {claims.get('acl')}, not {ask.acl}")
    if problems:
        raise TwinFailed(f"{library.name} does not mint what its twin says: {'; '.join(problems)}")


def check_library(library: Library | None, request: Recorded, answer: dict[str, Any], printed: str) -> None:
    """The facts the twin's comments state about its library hold for the request it really sent.

    Raises:
        TwinFailed: for a fact that does not hold.
    """
    if library is None:
        return
    pattern = re.sub(r"\\\{\w+\\\}", r"[0-9A-Za-z.+-]+", re.escape(library.user_agent))
    agent = request.header("User-Agent") or ""
    claims = token_claims(request)
    lifetime = claims["exp"] - claims["iat"] if "exp" in claims else None
    problems = []
    if not re.fullmatch(pattern, agent):
        problems.append(f"User-Agent {agent!r}, not {library.shown_user_agent()!r}")
    if request.header("Accept") != library.accept:
        problems.append(f"Accept {request.header('Accept')!r}, not {library.accept!r}")
    if (request.header("Content-Type") or "").split(";")[0] != "application/json":
        problems.append(f"Content-Type {request.header('Content-Type')!r}")
    if request.target != library.target:
        problems.append(f"request target {request.target!r}, not {library.target!r}")
    if body_format(request.body) != library.body_format:
        problems.append(f"{body_format(request.body)} JSON, not {library.body_format}")
    if tuple(sorted(claims)) != library.jwt_claims or lifetime != library.jwt_lifetime:
        problems.append(f"a JWT with {', '.join(sorted(claims))} lasting {lifetime} s, not "
                        f"{', '.join(library.jwt_claims)} lasting {library.jwt_lifetime} s")
    shown = {key for key, value in answer.items() if isinstance(value, str) and value in printed}
    if shown != set(library.answer_shown):
        problems.append(f"its program printed {sorted(shown)} of the answer, not {list(library.answer_shown)}")
    if problems:
        raise TwinFailed(f"{library.name} does not do what its twin says: {'; '.join(problems)}")


def body_format(raw: bytes) -> str:
    """``compact``, ``spaced`` (json.dumps' defaults), ``indented`` or ``other``: how the JSON was written."""
    value = json.loads(raw)
    text = raw.decode()
    for name, kwargs in (("compact", {"separators": (",", ":")}), ("spaced", {}), ("indented", {"indent": 2})):
        if text in (json.dumps(value, ensure_ascii=False, **kwargs), json.dumps(value, **kwargs)):
            return name
    return "other"


def token_claims(request: Recorded) -> dict[str, Any]:
    """The claims of the request's bearer token, unverified (the sandbox verified it); {} without one."""
    scheme, _, token = (request.header("Authorization") or "").partition(" ")
    return pyjwt.decode(token, options={"verify_signature": False}) if scheme == "Bearer" else {}


def describe(request: Recorded) -> str:
    """What the request showed: target, User-Agent, content type, JSON layout, JWT claims."""
    return (f"sent {request.target} User-Agent={request.header('User-Agent')!r} "
            f"Content-Type={request.header('Content-Type')!r} Accept={request.header('Accept')!r} "
            f"body={body_format(request.body)} jwt=[{','.join(sorted(token_claims(request)))}]"
            f"{' over TLS' if request.tls else ''}")


def outcome(case: Case, box: Sandbox, request: Recorded) -> str:
    """Move the sandbox's clock and check that the send ends as the notebook says.

    Raises:
        TwinFailed: when it ends otherwise.
    """
    answer = json.loads(request.answer)
    box.control.advance(3600)  # the 600 s expiry, the SMS and its delivery, all timers fired in order
    if case.path == "/v0.1/dispatch":
        dispatch = box.control.dispatch(answer["dispatch_uuid"])
        channels = [m["channel"] for m in dispatch["messages"]]
        report = dispatch.get("final_report") or {}
        if channels != ["messenger", "sms"] or report.get("status") != "completed":
            raise TwinFailed(f"the dispatch ended with {channels} and final report {report.get('status')!r}, "
                             "not Messenger then SMS and 'completed'")
        return "final report completed after Messenger (not read in 600 s) and the SMS"
    workflow = box.control.message(answer["message_uuid"])["dispatch_uuid"]
    if workflow != answer.get("workflow_id"):
        raise TwinFailed(f"the message belongs to workflow {workflow!r}, not {answer.get('workflow_id')!r}")
    messages = box.control.dispatch(workflow)["messages"]
    statuses = [(m["channel"], m["status"]) for m in messages]
    if [c for c, _ in statuses] != ["messenger", "sms"] or statuses[0][1] != "rejected" \
            or statuses[1][1] not in ("submitted", "delivered"):
        raise TwinFailed(f"the workflow ended with {statuses}, not Messenger rejected then the SMS sent")
    return f"workflow {workflow}: Messenger rejected, then the SMS {statuses[1][1]}"


# --- the whole run -----------------------------------------------------------------------------------------

def node_problem() -> str | None:
    """Why the Node twins cannot run here, or None."""
    if shutil.which("node") is None:
        return ("node twins skipped: node was not found; install Node.js 20 or newer (Debian: apt-get install "
                "nodejs npm), then run make twins, which installs the libraries into tools/node with npm ci")
    if not (NODE_DIR / "node_modules" / "nexmo").is_dir():
        return "node twins skipped: tools/node/node_modules is missing; run make twins (it runs npm ci there)"
    return None


def mint_token(box: Sandbox) -> str:
    """``$JWT`` as notebook 03 mints it: ``fbfailover jwt``."""
    done = subprocess.run([sys.executable, "-m", "fbfailover", "jwt", "--application-id", box.application_id,
                           "--private-key", str(box.private_key)], capture_output=True, text=True, timeout=60,
                          check=True, env={k: v for k, v in os.environ.items() if not k.startswith("VONAGE_")})
    return done.stdout.strip()


def run(selected: list[Case], out: Callable[[str], None] = print) -> list[Result]:
    """Run ``selected`` against a sandbox started for the run; prints one line per twin."""
    with tempfile.TemporaryDirectory(prefix="fbfailover-twins-") as name:
        folder = Path(name)
        ca, cert, key = make_tls_files(folder)
        with sandbox(folder) as box, Recorder(box.url, cert, key) as recorder:
            env = environment(box, ca, mint_token(box))
            results = []
            for case in selected:
                result = run_case(case, box, recorder, env, folder)
                out(result.line())
                results.append(result)
            return results


def main(argv: list[str] | None = None, selected: list[Case] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated twin kinds to run")
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    started = time.monotonic()
    if selected is None:
        selected = cases(kinds)
    if "node" in kinds and (why := node_problem()):
        print(why)
        kinds = tuple(k for k in kinds if k != "node")
        selected = [c for c in selected if c.kind != "node"]
    results = run(selected)
    ok = sum(r.ok for r in results)
    ran = sorted({r.case.kind for r in results}, key=KINDS.index)
    print(f"({time.monotonic() - started:.1f} s)")
    print(f"twins_run={len(results)} twins_ok={ok} kinds={','.join(ran)}")
    return 0 if results and ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
