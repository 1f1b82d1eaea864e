"""Property-based tests of every endpoint: no 5xx, no hang, invalid requests get a 4xx problem, valid ones pass.

Each endpoint has a strategy of *valid* requests (built to satisfy every rule of the sandbox, so each must be
accepted with its success status) and of *invalid* ones (a valid request with one thing broken: a required
field dropped, a wrong type, a value out of range, a broken rule, unreadable JSON, a wrong content type, bad
credentials, a wrong method), each of which must be answered 4xx with a problem-details JSON body.
``make test`` runs a few cases per endpoint; ``benchmarks/fuzz.py`` runs ``run_all(url, 1000)``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, SIGNATURE_SECRET, mint

CASES_IN_TESTS = 12
TOKEN = "fuzz-workshop-token"
TIMEOUT = 15.0  # a request that takes longer is a hang

ERROR_CODES = [1000, 1010, 1020, 1050, 1180, 1250, 1260, 1300, 1330, 1382]
TEXT_MAX = {"sms": 1000, "mms": 1000, "messenger": 640, "viber_service_msg": 1000, "viber_service": 1000,
            "whatsapp": 4096, "rcs": 3072}


# -- the target: a workshop-mode sandbox, its instructor account, one application and its JWT -------------
@dataclass
class Target:
    url: str
    private_key: str
    public_key: str
    app_id: str = ""
    token_minted: float = 0.0
    _token: str = ""
    dispatches: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def auth(self) -> tuple[str, str]:
        return (API_KEY, API_SECRET)

    @property
    def token(self) -> str:
        if time.time() - self.token_minted > 600:  # a long run outlives a 15-minute token
            self._token, self.token_minted = mint(self.app_id, self.private_key), time.time()
        return self._token

    def setup(self) -> Target:
        body = {"name": "fuzz", "keys": {"public_key": self.public_key}}
        self.app_id = self.session.post(f"{self.url}/v2/applications", json=body, auth=self.auth,
                                        timeout=TIMEOUT).json()["id"]
        for _ in range(3):
            sent = self.send("POST", "/v0.1/dispatch", json=_tutorial(), headers=self.bearer())
            self.dispatches.append(sent.json()["dispatch_uuid"])
        timeline = self.send("GET", f"/_sandbox/dispatches/{self.dispatches[0]}", auth=self.auth).json()
        self.messages = [m["message_uuid"] for m in timeline["messages"]]
        return self

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=TIMEOUT, **kwargs)


def start_target(key_pair: tuple[str, str]) -> tuple[Any, Target]:
    """A workshop-mode sandbox in memory on a manual clock, and the target around it."""
    from fbfailover.background import serve
    from fbfailover.sandbox.app import make_app
    from fbfailover.sandbox.core import Core, SandboxSettings
    from fbfailover.sandbox.state import State

    core = Core(State(":memory:"), SandboxSettings(clock="manual", workshop=True, instructor_token=TOKEN,
                                                    api_key=API_KEY, api_secret=API_SECRET,
                                                    signature_secret=SIGNATURE_SECRET))
    server = serve(make_app(core), on_start=core.start, on_stop=core.stop, name="fuzz-sandbox")
    return server, Target(server.url, *key_pair).setup()


# -- building blocks ------------------------------------------------------------------------------------------
def _text(lo: int = 1, hi: int = 40) -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=lo, max_size=hi)


NUMBER = st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True)
SENDER = st.one_of(NUMBER, st.from_regex(r"[A-Za-z0-9 ]{1,11}", fullmatch=True))
IDENT = _text(1, 50)
URL = st.builds(lambda p: "http://127.0.0.1:9/" + quote(p, safe=""), _text(0, 20))
JSON_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text(0, 10),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text(1, 8), inner, max_size=3),
                          max_leaves=8)
NOT_INT = st.from_regex(r"[A-Za-z.+_-]{1,6}", fullmatch=True)  # never an integer, even stripped
NOISE = st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), _text(0, 10), max_size=2)  # ignored query
WRONG_TYPE = st.one_of(st.none(), st.booleans(), st.integers(), st.lists(st.integers(), max_size=2),
                       st.dictionaries(_text(1, 5), st.integers(), max_size=2))


def _tutorial() -> dict:
    return {"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": "107083064136738"}, "to": {"type": "messenger", "id": "3951551948198164"},
         "message": {"content": {"type": "text", "text": "Hi"}},
         "failover": {"expiry_time": 600, "condition_status": "read"}},
        {"from": {"type": "sms", "number": "447700900000"}, "to": {"type": "sms", "number": "447700900001"},
         "message": {"content": {"type": "text", "text": "Hi"}}}]}


@st.composite
def olympus_item(draw: Any, channel: str | None = None) -> dict:
    channel = channel or draw(st.sampled_from(["messenger", "sms", "whatsapp", "viber_service_msg", "mms"]))
    if channel in ("sms", "mms", "whatsapp"):
        to, sender = {"type": channel, "number": draw(NUMBER)}, {"type": channel, "number": draw(SENDER)}
    else:
        to, sender = {"type": channel, "id": draw(IDENT)}, {"type": channel, "id": draw(IDENT)}
    if channel == "mms" or (channel != "sms" and draw(st.booleans()) and draw(st.booleans())):
        content = {"type": "image", "image": {"url": "https://example.com/" + draw(st.from_regex(r"[a-z]{0,9}",
                                                                                                 fullmatch=True))}}
    else:
        content = {"type": "text", "text": draw(_text(1, min(TEXT_MAX[channel], 300)))}
    return {"from": sender, "to": to, "message": {"content": content}}


@st.composite
def dispatch_body(draw: Any) -> dict:
    items = draw(st.lists(olympus_item(), min_size=1, max_size=3))
    for item in items[:-1]:
        item["failover"] = {"expiry_time": draw(st.integers(15, 86400)),
                            "condition_status": draw(st.sampled_from(["delivered", "read"]))}
    return {"template": "failover", "workflow": items}


@st.composite
def v1_message(draw: Any) -> dict:
    channel = draw(st.sampled_from(["sms", "mms", "messenger", "viber_service", "whatsapp", "rcs"]))
    to = draw(NUMBER) if channel in ("sms", "mms", "whatsapp") else draw(IDENT)
    msg: dict[str, Any] = {"channel": channel, "to": to, "from": draw(IDENT)}
    if channel == "mms":
        msg.update(message_type="image", image={"url": "https://example.com/a.png"})
    else:
        msg.update(message_type="text", text=draw(_text(1, min(TEXT_MAX[channel], 300))))
    if draw(st.booleans()):
        msg["client_ref"] = draw(_text(0, 100))
    return msg


@st.composite
def v1_body(draw: Any) -> dict:
    body = draw(v1_message())
    if draw(st.booleans()):
        body["failover"] = draw(st.lists(v1_message(), min_size=1, max_size=3))
    return body


@st.composite
def application_body(draw: Any, public_key: str) -> dict:
    body: dict[str, Any] = {"name": draw(_text(1, 200)), "keys": {"public_key": public_key}}
    if draw(st.booleans()):
        body["capabilities"] = {"messages": {"webhooks": {"inbound_url": {"address": draw(URL), "http_method": "POST"},
                                                          "status_url": {"address": draw(URL)}}}}
    if draw(st.booleans()):
        body["privacy"] = {"improve_ai": draw(st.booleans())}
    return body


def _dig(body: Any, path: tuple) -> tuple[Any, Any]:
    for key in path[:-1]:
        body = body[key]
    return body, path[-1]


@st.composite
def broken(draw: Any, valid: st.SearchStrategy[dict], breakers: list[tuple[tuple, Any]]) -> dict:
    """A valid body with exactly one thing broken: ``(path, replacement strategy or DROP)``."""
    body = json.loads(json.dumps(draw(valid)))
    path, replacement = draw(st.sampled_from(breakers))
    path = tuple(p(body) if callable(p) else p for p in path)
    parent, key = _dig(body, path)
    if replacement is DROP:
        del parent[key]
    elif replacement is OTHER_CHANNEL:  # to.type unlike from.type
        parent[key] = draw(st.sampled_from([c for c in ("sms", "messenger", "whatsapp") if c != parent[key]]))
    else:
        parent[key] = draw(replacement)
    return body


DROP = object()
OTHER_CHANNEL = object()
def _last(body: dict) -> int:
    return len(body["workflow"]) - 1


# -- requests -------------------------------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    expect: int  # the success status of a valid request; 0 for an invalid one (any 4xx problem)
    json: Any = None
    data: Any = None
    raw: bytes | None = None
    headers: dict = field(default_factory=dict)
    params: dict | None = None
    auth: Any = None
    problem: bool = True  # an error body in problem-details shape (account settings answers 401 its own way)

    def send(self, target: Target) -> requests.Response:
        kwargs: dict[str, Any] = {"headers": dict(self.headers), "params": self.params, "auth": self.auth}
        if self.raw is not None:
            kwargs["data"] = self.raw
        elif self.data is not None:
            kwargs["data"] = self.data
        elif self.json is not None:
            kwargs["data"] = json.dumps(self.json).encode()
            kwargs["headers"].setdefault("Content-Type", "application/json")
        return target.send(self.method, self.path, **kwargs)


def _json_post(path: str, expect: int, body_valid: Callable[[Target], st.SearchStrategy],
               breakers: list, auth: str) -> Callable[[Target], st.SearchStrategy[Request]]:
    """Cases of a JSON POST: valid bodies, broken bodies, and transport-level mistakes."""

    def cases(t: Target) -> st.SearchStrategy[Request]:
        creds = (lambda: {"headers": t.bearer()}) if auth == "bearer" else (lambda: {"auth": t.auth})
        valid = body_valid(t)
        good = valid.map(lambda b: _with(Request("POST", path, expect, json=b), creds()))
        bad_body = broken(valid, breakers).map(lambda b: _with(Request("POST", path, 0, json=b), creds()))
        return st.one_of(good, bad_body, _transport(path, "POST", valid, creds))

    return cases


def _transport(path: str, method: str, valid: st.SearchStrategy, creds: Callable[[], dict]) -> st.SearchStrategy:
    garbage = st.one_of(st.binary(min_size=1, max_size=40).filter(lambda b: b.strip() and not _is_json(b)),
                        st.just(b'{"unterminated": '), st.just(b'{"lone": "\\ud800"}'))
    bad_auth = st.one_of(st.just({}), st.builds(lambda s: {"headers": {"Authorization": s}},
                                                st.from_regex(r"(Basic|Bearer|Token) [A-Za-z0-9+/=.]{0,30}",
                                                              fullmatch=True)))
    return st.one_of(
        st.builds(lambda raw: _with(Request(method, path, 0, raw=raw, headers={"Content-Type": "application/json"}),
                                    creds()), garbage),
        st.builds(lambda b, ct: _with(Request(method, path, 0, raw=json.dumps(b).encode(),
                                              headers={"Content-Type": ct}), creds()),
                  valid, st.sampled_from(["text/plain", "application/xml", "multipart/form-data"])),
        st.builds(lambda b, a: _with(Request(method, path, 0, json=b), a), valid, bad_auth),
        st.builds(lambda b, m: _with(Request(m, path, 0, json=b), creds()), valid, st.sampled_from(["PATCH", "PUT"])),
    )


def _with(request: Request, creds: dict) -> Request:
    request.headers = {**request.headers, **creds.get("headers", {})}
    request.auth = creds.get("auth")
    return request


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


# -- the endpoints ------------------------------------------------------------------------------------------------
_olympus_breakers = [
    (("template",), DROP), (("template",), _text(0, 10).filter(lambda s: s != "failover")),
    (("workflow",), DROP), (("workflow",), st.just([])), (("workflow",), WRONG_TYPE),
    (("workflow", 0, "to"), DROP), (("workflow", 0, "message"), DROP),
    (("workflow", 0, "from", "type"), st.sampled_from(["telegram", "", "SMS"])),
    (("workflow", 0, "message", "content", "type"), st.sampled_from(["gif", "", 3])),
    (("workflow", _last, "failover"), st.just({"expiry_time": 600, "condition_status": "read"})),
    (("workflow", 0, "to", "extra"), _text()),
    (("workflow", 0, "to", "type"), OTHER_CHANNEL),
]


def _dispatch_breakers() -> list:
    return [*_olympus_breakers,
            (("workflow", 0, "failover"), st.just({"expiry_time": 14, "condition_status": "read"})),
            (("workflow", 0, "failover"), st.just({"expiry_time": 600, "condition_status": "submitted"}))]


def _tutorial_like() -> st.SearchStrategy[dict]:
    # two items, so that a failover can be broken; the first is never an unbreakable mms
    return st.builds(lambda a, b, e: {"template": "failover", "workflow": [
        {**a, "failover": {"expiry_time": e, "condition_status": "read"}}, b]},
        olympus_item("messenger"), olympus_item(), st.integers(15, 86400))


def _v01_like() -> st.SearchStrategy[dict]:
    return olympus_item().map(lambda i: {**i, "client_ref": "fuzz"})


_v01_breakers = [((k,), DROP) for k in ("to", "from", "message")] + [
    (("to", "type"), st.sampled_from(["telegram", ""])), (("client_ref",), _text(41, 60)),
    (("message", "content"), WRONG_TYPE), (("to",), WRONG_TYPE)]

_v1_breakers = [((k,), DROP) for k in ("channel", "message_type", "to", "from")] + [
    (("channel",), st.sampled_from(["telegram", "", "viber_service_msg"])), (("to",), st.just("")),
    (("message_type",), st.just("hologram")), (("failover",), st.just([])), (("ttl",), st.just(0)),
    (("webhook_url",), st.just("ftp://x")), (("from",), _text(51, 60))]

_app_breakers = [(("name",), DROP), (("name",), st.just("")), (("name",), WRONG_TYPE), (("name",), _text(201, 210)),
                 (("keys", "public_key"), _text(1, 30)), (("keys", "public_key"), WRONG_TYPE),
                 (("privacy",), st.just({"improve_ai": "yes"})),
                 (("capabilities",), st.just({"messages": {"webhooks": {"status_url": {"address": "nope"}}}}))]


def _get_cases(path: str, expect: int, auth: str | None = "basic",
               params: st.SearchStrategy | None = None) -> Callable[[Target], st.SearchStrategy[Request]]:
    def cases(t: Target) -> st.SearchStrategy[Request]:
        query = params if params is not None else NOISE
        creds = {"auth": t.auth} if auth == "basic" else {}
        good = query.map(lambda q: Request("GET", path, expect, params=q, **creds))
        wrong_method = st.sampled_from(["PATCH"]).map(lambda m: Request(m, path, 0, **creds))
        options = [good, wrong_method]
        if auth == "basic":
            options.append(st.builds(lambda k, s: Request("GET", path, 0, headers={"Authorization": _basic(k, s)}),
                                     _text(1, 10), _text(0, 10)))
        return st.one_of(*options)

    return cases


def _applications_list(t: Target) -> st.SearchStrategy[Request]:
    good = st.builds(lambda s, p: Request("GET", "/v2/applications", 200, params={"page_size": s, "page": p},
                                          auth=t.auth), st.integers(1, 100), st.integers(1, 10**6))
    bad = st.builds(lambda s, p: Request("GET", "/v2/applications", 0, params={"page_size": s, "page": p},
                                         auth=t.auth),
                    st.one_of(st.integers(max_value=0), st.integers(min_value=101), NOT_INT),
                    st.integers(1, 5))
    return st.one_of(good, bad, st.builds(lambda p: Request("GET", "/v2/applications", 0, auth=t.auth,
                                                            params={"page": p}), st.integers(max_value=0)))


def _application_one(t: Target) -> st.SearchStrategy[Request]:
    own = f"/v2/applications/{t.app_id}"
    unknown = st.builds(lambda s: f"/v2/applications/{quote(s, safe='')}",
                        _text(1, 36).filter(lambda s: s not in (".", "..")))
    return st.one_of(
        st.just(Request("GET", own, 200, auth=t.auth)),
        unknown.map(lambda p: Request("GET", p, 0, auth=t.auth)),
        application_body(t.public_key).map(lambda b: Request("PUT", own, 200, json=b, auth=t.auth)),
        broken(application_body(t.public_key), _app_breakers).map(lambda b: Request("PUT", own, 0, json=b,
                                                                                      auth=t.auth)),
        unknown.map(lambda p: Request("DELETE", p, 0, auth=t.auth)),
        st.just(Request("DELETE", own, 0, auth=("nobody", "x"))),
        st.just(Request("DELETE", "/v2/applications/<new>", 204, auth=t.auth)),  # created just before
    )


def _settings(t: Target) -> st.SearchStrategy[Request]:
    urls = st.one_of(st.just(""), URL)
    good = st.builds(lambda mo, dr: Request("POST", "/account/settings", 200, data={
        "api_key": API_KEY, "api_secret": API_SECRET, "moCallBackUrl": mo, "drCallBackUrl": dr}), urls, urls)
    bad_url = st.builds(lambda u: Request("POST", "/account/settings", 0, data={
        "api_key": API_KEY, "api_secret": API_SECRET, "drCallBackUrl": u}),
        _text(1, 20).filter(lambda u: not u.startswith(("http://", "https://"))))
    bad_creds = st.builds(lambda k, s: Request("POST", "/account/settings", 0, data={"api_key": k, "api_secret": s},
                                               problem=False), _text(0, 10), _text(0, 10))
    return st.one_of(good, bad_url, bad_creds)


def _recipient(t: Target) -> st.SearchStrategy[Request]:
    @st.composite
    def good(draw: Any) -> Request:
        channel = draw(st.sampled_from(["sms", "mms", "messenger", "whatsapp", "viber_service_msg", "rcs"]))
        outcomes = ["delivered", "rejected", "undeliverable"] + ([] if channel in ("sms", "mms") else ["read"])
        outcome = draw(st.sampled_from(outcomes))
        rule: dict[str, Any] = {"outcome": outcome, "after": draw(st.none() | st.floats(0, 2592000))}
        if outcome in ("rejected", "undeliverable") and draw(st.booleans()):
            rule["error_code"] = draw(st.sampled_from(ERROR_CODES))
        ident = quote(draw(IDENT.filter(lambda s: s not in (".", ".."))), safe="")
        method = draw(st.sampled_from(["PUT", "PUT", "GET", "DELETE"]))
        return Request(method, f"/_sandbox/recipients/{channel}/{ident}", 200, auth=t.auth,
                       json=rule if method == "PUT" else None)

    bad_rules = st.one_of(
        st.just({"outcome": "read", "after": 5}).map(lambda r: ("sms", r)),
        st.builds(lambda o: ("messenger", {"outcome": o}), _text(0, 10).filter(
            lambda o: o not in ("read", "delivered", "rejected", "undeliverable"))),
        st.builds(lambda c: ("messenger", {"outcome": "rejected", "error_code": c}),
                  st.integers().filter(lambda c: not 1000 <= c <= 1382)),
        st.just(("messenger", {"outcome": "delivered", "error_code": 1300})),
        st.builds(lambda a: ("messenger", {"outcome": "read", "after": a}),
                  st.one_of(st.floats(max_value=-0.001), st.floats(min_value=2592001), _text(1, 4))),
        st.builds(lambda c: (c, {"outcome": "delivered"}), st.from_regex(r"[a-z]{1,12}", fullmatch=True).filter(
            lambda c: c not in ("sms", "mms", "messenger", "whatsapp", "viber_service_msg", "viber_service", "rcs"))),
    )
    bad = bad_rules.map(lambda cr: Request("PUT", f"/_sandbox/recipients/{cr[0]}/123", 0, json=cr[1], auth=t.auth))
    return st.one_of(good(), bad, st.just(Request("GET", "/_sandbox/recipients", 200, auth=t.auth)),
                     st.just(Request("DELETE", "/_sandbox/recipients", 200, auth=t.auth)),
                     st.just(Request("GET", "/_sandbox/recipients", 0)))


def _inbound(t: Target) -> st.SearchStrategy[Request]:
    valid = st.builds(lambda c, f, to, text, app: {k: v for k, v in {
        "channel": c, "from": f, "to": to, "text": text, "application_id": app}.items() if v is not None},
        st.sampled_from(["messenger", "sms", "whatsapp", "viber_service_msg"]), st.none() | IDENT, st.none() | IDENT,
        st.none() | _text(1, 200), st.sampled_from([None, t.app_id]))
    breakers = [(("channel",), DROP), (("channel",), st.sampled_from(["rcs", "telegram", ""])),
                (("text",), st.just("")), (("from",), _text(51, 60)), (("extra",), _text()),
                (("application_id",), st.builds(lambda: str(uuid.uuid4())))]
    return _json_post("/_sandbox/inbound", 202, lambda _: valid, breakers, "basic")(t)


def _advance(t: Target) -> st.SearchStrategy[Request]:
    valid = st.builds(lambda s: {"seconds": s}, st.one_of(st.integers(0, 3600), st.floats(0, 3600)))
    breakers = [(("seconds",), DROP), (("seconds",), st.one_of(st.floats(max_value=-0.001),
                                                               st.floats(min_value=31536001), _text(1, 5))),
                (("other",), st.integers())]
    return _json_post("/_sandbox/clock/advance", 200, lambda _: valid, breakers, "basic")(t)


def _timeline(kind: str) -> Callable[[Target], st.SearchStrategy[Request]]:
    def cases(t: Target) -> st.SearchStrategy[Request]:
        known = t.dispatches if kind == "dispatches" else t.messages
        return st.one_of(
            st.builds(lambda u, n: Request("GET", f"/_sandbox/{kind}/{u}", 200, auth=t.auth, params=n),
                      st.sampled_from(known), NOISE),
            st.sampled_from(known).map(lambda u: Request("GET", f"/_sandbox/{kind}/{u}", 0)),
            _text(1, 40).filter(lambda s: s not in (".", "..")).map(
                lambda s: Request("GET", f"/_sandbox/{kind}/{quote(s, safe='')}", 0, auth=t.auth)))

    return cases


def _deliveries(t: Target) -> st.SearchStrategy[Request]:
    good = st.builds(lambda lim, d, s: Request("GET", "/_sandbox/deliveries", 200, auth=t.auth, params={
        k: v for k, v in {"limit": lim, "dispatch_uuid": d, "status": s}.items() if v is not None}),
        st.none() | st.integers(-10**6, 10**6), st.none() | st.sampled_from(t.dispatches),
        st.none() | st.sampled_from(["pending", "delivered", "failed", "gave_up", "no_url"]))
    bad = st.builds(lambda lim: Request("GET", "/_sandbox/deliveries", 0, auth=t.auth, params={"limit": lim}),
                    NOT_INT)
    return st.one_of(good, bad, st.just(Request("GET", "/_sandbox/deliveries", 0)))


def _accounts(t: Target) -> st.SearchStrategy[Request]:
    return st.one_of(
        st.builds(lambda h, n: Request("POST", "/_sandbox/accounts", 201, headers={h: TOKEN}, params=n),
                  st.sampled_from(["X-Workshop-Token", "X-Instructor-Token"]), NOISE),
        st.from_regex(r"[!-~]{0,30}", fullmatch=True).filter(lambda s: s != TOKEN).map(
            lambda s: Request("POST", "/_sandbox/accounts", 0, headers={"X-Workshop-Token": s})),
        st.just(Request("POST", "/_sandbox/accounts", 0, raw=b"{nope", headers={"X-Workshop-Token": TOKEN,
                                                                                  "Content-Type": "application/json"})),
        st.just(Request("GET", "/_sandbox/accounts", 0, headers={"X-Workshop-Token": TOKEN})),
    )


ENDPOINTS: dict[str, Callable[[Target], st.SearchStrategy[Request]]] = {
    "POST /v0.1/dispatch": _json_post("/v0.1/dispatch", 202, lambda _: st.one_of(dispatch_body(), _tutorial_like()),
                                      _dispatch_breakers(), "bearer"),
    "POST /beta/workflows": _json_post("/beta/workflows", 202, lambda _: _tutorial_like(), _dispatch_breakers(),
                                       "bearer"),
    "POST /v0.1/messages": _json_post("/v0.1/messages", 202, lambda _: _v01_like(), _v01_breakers, "bearer"),
    "POST /v1/messages": _json_post("/v1/messages", 202, lambda _: v1_body(), _v1_breakers, "bearer"),
    "POST /v2/applications": _json_post("/v2/applications", 201, lambda t: application_body(t.public_key),
                                        _app_breakers, "basic"),
    "GET /v2/applications": _applications_list,
    "GET|PUT|DELETE /v2/applications/{id}": _application_one,
    "POST /account/settings": _settings,
    "GET /*/ping": lambda t: st.one_of(*(_get_cases(p, 200, None)(t) for p in (
        "/v0.1/dispatch/ping", "/v0.1/messages/ping", "/v1/messages/ping", "/v2/applications/ping"))),
    "GET /_sandbox": _get_cases("/_sandbox", 200),
    "GET /_sandbox/clock": _get_cases("/_sandbox/clock", 200, None),
    "GET /_sandbox/openapi.json": _get_cases("/_sandbox/openapi.json", 200, None),
    "POST /_sandbox/clock/advance": _advance,
    "/_sandbox/recipients": _recipient,
    "POST /_sandbox/inbound": _inbound,
    "GET /_sandbox/dispatches/{uuid}": _timeline("dispatches"),
    "GET /_sandbox/messages/{uuid}": _timeline("messages"),
    "GET /_sandbox/deliveries": _deliveries,
    "POST /_sandbox/accounts": _accounts,
}


# -- the property ---------------------------------------------------------------------------------------------------
def check(target: Target, request: Request) -> str:
    """Send one request and check the answer; returns ``valid`` or ``invalid`` (what was sent)."""
    if request.path == "/v2/applications/<new>":
        created = target.send("POST", "/v2/applications", json={"name": "gone", "keys": {
            "public_key": target.public_key}}, auth=target.auth)
        request.path = f"/v2/applications/{created.json()['id']}"
    started = time.monotonic()
    try:
        response = request.send(target)
    except requests.Timeout:
        raise AssertionError(f"no answer within {TIMEOUT} s: {request}") from None
    elapsed = time.monotonic() - started
    code = response.status_code
    what = f"{request.method} {request.path} -> {code} {response.text[:300]}"
    assert code < 500, what
    assert elapsed < TIMEOUT, what
    assert response.headers.get("X-Fbfailover-Sandbox"), what
    if code != 204:
        assert response.headers["Content-Type"].startswith("application/json"), what
        body = response.json()
    if request.expect:
        assert code == request.expect, f"valid request refused: {what}\n{request}"
        return "valid"
    assert 400 <= code < 500, f"invalid request accepted: {what}\n{request}"
    if request.problem:
        assert isinstance(body, dict) and isinstance(body.get("title"), str) and "type" in body, what
    return "invalid"


def run_endpoint(target: Target, name: str, examples: int, counts: dict[str, dict[str, int]]) -> None:
    """Run ``examples`` generated cases against one endpoint, adding to ``counts[name]``."""
    tally = counts.setdefault(name, {"valid": 0, "invalid": 0})
    strategy = ENDPOINTS[name](target)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(request=strategy)
    def property_(request: Request) -> None:
        tally[check(target, request)] += 1

    property_()


@pytest.fixture(scope="module")
def target(key_pair) -> Iterator[Target]:
    server, tgt = start_target(key_pair)
    yield tgt
    tgt.session.close()
    server.stop()


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_endpoint_answers_every_request_properly(target, name):
    counts: dict[str, dict[str, int]] = {}
    run_endpoint(target, name, CASES_IN_TESTS, counts)
    assert sum(counts[name].values()) >= CASES_IN_TESTS


def test_the_openapi_document_describes_every_route(target):
    doc = target.send("GET", "/_sandbox/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, ref
    import jsonschema

    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for path in ("/v0.1/dispatch", "/v1/messages", "/v2/applications/{id}", "/_sandbox/accounts",
                 "/_sandbox/recipients/{channel}/{id}", "/account/settings"):
        assert path in doc["paths"], path
    body = doc["paths"]["/v0.1/dispatch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/olympus.dispatch"}
