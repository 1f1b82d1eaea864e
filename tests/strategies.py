"""Hypothesis strategies of sandbox requests, driven by the channel table, and the property they must satisfy.

Each endpoint has a strategy of *valid* requests (built to satisfy every rule, so each must be accepted with its
success status) and of *invalid* ones (a valid request with one thing broken: a required field dropped, a wrong
type, a value out of range, a broken rule, unreadable JSON, a wrong content type, bad credentials, a wrong
method), each of which must be answered 4xx with a problem-details JSON body. Channel facts (names, address
kinds, content types, text limits, read support, error codes) come from ``fbfailover.channels``.

``HOSTILE_SHAPES`` are requests no client should send (5,000-deep JSON, 3 MB bodies, random bytes, odd content
types, broken or huge ``Authorization`` headers), for every route of ``HOSTILE_ROUTES``.

``tests/sandbox/test_fuzz.py`` runs a few cases per endpoint; ``python -m benchmarks.fuzz`` runs many.
"""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbfailover.channels import (
    ADDRESS_KINDS,
    CHANNELS,
    CONDITION_STATUSES,
    ERROR_CODES,
    EXPIRY_RANGE,
    FAILED,
    ID_MAX,
    Channel,
    TableSequence,
)
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, SIGNATURE_SECRET, mint

CASES_IN_TESTS = 12
TOKEN = "fuzz-workshop-token"
TIMEOUT = 15.0  # a request that takes longer is a hang

# Views of the table: a channel a test adds (``channels.extended``) is drawn too.
DISPATCH_CHANNELS = TableSequence(lambda: tuple(c for c in CHANNELS if c.in_dispatch))
V01_CHANNELS = TableSequence(lambda: tuple(c for c in CHANNELS if c.v01_content))
V1_CHANNELS = TableSequence(lambda: tuple(c for c in CHANNELS if c.v1_name))


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
    from fbfailover.sandbox.core import Core, SandboxSettings
    from fbfailover.sandbox.http import SERVER_LIMITS
    from fbfailover.sandbox.server import make_app

    core = Core.open(":memory:", SandboxSettings(clock="manual", workshop=True, instructor_token=TOKEN,
                                                    api_key=API_KEY, api_secret=API_SECRET,
                                                    signature_secret=SIGNATURE_SECRET, loopback_only=True,
                                                    max_accounts=1_000_000))
    server = serve(make_app(core), on_start=core.start, on_stop=core.stop, name="fuzz-sandbox", **SERVER_LIMITS)
    return server, Target(server.url, *key_pair).setup()


# -- building blocks ------------------------------------------------------------------------------------------
def _text(lo: int = 1, hi: int = 40) -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=lo, max_size=hi)


NUMBER = st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True)
# an alphanumeric sender has a letter (so it is never mistaken for a number): the table's SENDER
SENDER = st.one_of(NUMBER, st.from_regex(r"[A-Za-z0-9 ]{0,5}[A-Za-z][A-Za-z0-9 ]{0,5}", fullmatch=True))
IDENT = _text(1, ID_MAX).filter(str.strip)
_ADDRESSES = {"number": NUMBER, "sender": SENDER, "id": IDENT}


def address_of(kind: str) -> st.SearchStrategy[str]:
    """Addresses of ``kind``: the built-in kinds' own strategies, else what the kind's pattern matches."""
    if kind in _ADDRESSES:
        return _ADDRESSES[kind]
    pattern = ADDRESS_KINDS[kind].pattern
    return IDENT if pattern is None else st.from_regex(pattern, fullmatch=True).filter(lambda s: len(s) <= ID_MAX)


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


def text_of(channel: Channel, *, over: bool = False) -> st.SearchStrategy[str]:
    """Texts the channel takes: short ones and lengths at its limit; ``over``: one to three characters too many."""
    limit = channel.text_max
    if over:
        return st.integers(limit + 1, limit + 3).map(lambda n: "x" * n)
    return st.one_of(_text(1, 40), st.integers(limit - 1, limit).map(lambda n: "x" * n))


def _object_of(kind: str) -> st.SearchStrategy[dict]:
    if kind == "template":
        return st.just({"name": "welcome"})
    if kind == "custom":
        return st.just({})
    return st.builds(lambda p: {"url": f"https://example.com/{p}.jpg"}, st.from_regex(r"[a-z]{1,9}", fullmatch=True))


@st.composite
def payload(draw: Any, channel: Channel, api: str) -> dict:
    """One content type (v0.1) or message type (v1) the channel carries, with its text or its object."""
    kind = draw(st.sampled_from(channel.content(api)))
    value = draw(text_of(channel)) if kind == "text" else draw(_object_of(kind))
    return {"type": kind, kind: value} if api == "v0.1" else {"message_type": kind, kind: value}


def _field(kind: str) -> str:
    return ADDRESS_KINDS[kind].field


@st.composite
def v01_item(draw: Any, channel: Channel | None = None) -> dict:
    """A Dispatch item or v0.1 message on ``channel`` (any Dispatch channel when None), addressed by kind."""
    channel = channel or draw(st.sampled_from(DISPATCH_CHANNELS))
    return {"from": {"type": channel.name, _field(channel.from_kind): draw(address_of(channel.from_kind))},
            "to": {"type": channel.name, _field(channel.to_kind): draw(address_of(channel.to_kind))},
            "message": {"content": draw(payload(channel, "v0.1"))}}


def failover_condition() -> st.SearchStrategy[dict]:
    return st.builds(lambda e, c: {"expiry_time": e, "condition_status": c},
                     st.integers(*EXPIRY_RANGE), st.sampled_from(CONDITION_STATUSES))


@st.composite
def dispatch_body(draw: Any, channel: Channel) -> dict:
    """A workflow whose first item is on ``channel``, then up to two more on any Dispatch channel."""
    items = [draw(v01_item(channel)), *draw(st.lists(v01_item(), max_size=2))]
    for item in items[:-1]:
        item["failover"] = draw(failover_condition())
    return {"template": "failover", "workflow": items}


@st.composite
def v1_message(draw: Any, channel: Channel | None = None) -> dict:
    """A Messages v1 message on ``channel`` (any v1 channel when None)."""
    channel = channel or draw(st.sampled_from(V1_CHANNELS))
    msg: dict[str, Any] = {"channel": channel.v1_name, "to": draw(address_of(channel.to_kind)),
                           "from": draw(address_of(channel.from_kind)), **draw(payload(channel, "v1"))}
    if draw(st.booleans()):
        msg["client_ref"] = draw(_text(0, 100))
    return msg


@st.composite
def v1_body(draw: Any, channel: Channel) -> dict:
    body = draw(v1_message(channel))
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
_workflow_breakers = [
    (("template",), DROP), (("template",), _text(0, 10).filter(lambda s: s != "failover")),
    (("workflow",), DROP), (("workflow",), st.just([])), (("workflow",), WRONG_TYPE),
    (("workflow", 0, "to"), DROP), (("workflow", 0, "message"), DROP),
    (("workflow", 0, "from", "type"), st.sampled_from(["telegram", "", "SMS"])),
    (("workflow", 0, "message", "content", "type"), st.sampled_from(["gif", "", 3])),
    (("workflow", _last, "failover"), st.just({"expiry_time": 600, "condition_status": "read"})),
    (("workflow", 0, "to", "type"), OTHER_CHANNEL),
]


def _dispatch_breakers(channel: Channel) -> list:
    low, high = EXPIRY_RANGE
    breakers = [*_workflow_breakers,
                (("workflow", 0, "failover"), st.just({"expiry_time": low - 1, "condition_status": "read"})),
                (("workflow", 0, "failover"), st.just({"expiry_time": high + 1, "condition_status": "read"})),
                (("workflow", 0, "failover"), st.just({"expiry_time": 600, "condition_status": "submitted"}))]
    if "text" in channel.v01_content:
        breakers.append((("workflow", 0, "message", "content"), text_of(channel, over=True).map(
            lambda t: {"type": "text", "text": t})))
    return breakers


def _tutorial_like() -> st.SearchStrategy[dict]:
    # the tutorial's shape: Messenger, then SMS (two items, so that a failover can be broken)
    messenger, sms = (next(c for c in CHANNELS if c.name == n) for n in ("messenger", "sms"))
    return st.builds(lambda a, b, f: {"template": "failover", "workflow": [{**a, "failover": f}, b]},
                     v01_item(messenger), v01_item(sms), failover_condition())


def _v01_like(channel: Channel) -> st.SearchStrategy[dict]:
    return v01_item(channel).map(lambda i: {**i, "client_ref": "fuzz"})


def _v01_channel_breakers(channel: Channel) -> list:
    if "text" not in channel.v01_content:
        return _v01_breakers
    return [*_v01_breakers, (("message", "content"), text_of(channel, over=True).map(
        lambda t: {"type": "text", "text": t}))]


def _v1_channel_breakers(channel: Channel) -> list:
    if "text" not in channel.v1_content:
        return _v1_breakers
    return [*_v1_breakers, (("text",), text_of(channel, over=True))]


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
    # URLs that answer without a round trip: the account's own mailbox addresses (any host)
    mailbox = st.builds(lambda p: f"http://127.0.0.1:9/_sandbox/mailbox/{API_KEY}/" + quote(p, safe=""), _text(0, 20))
    urls = st.one_of(st.just(""), mailbox)
    creds = {"api_key": API_KEY, "api_secret": API_SECRET}
    good = st.builds(lambda mo, dr: Request("POST", "/account/settings", 200, params=creds, data={
        "moCallBackUrl": mo, "drCallBackUrl": dr}), urls, urls)
    bad_url = st.builds(lambda u: Request("POST", "/account/settings", 0, params=creds, data={"drCallBackUrl": u}),
                        _text(1, 20).filter(lambda u: not u.startswith(("http://", "https://"))))
    bad_creds = st.builds(lambda k, s: Request("POST", "/account/settings", 0, params={"api_key": k, "api_secret": s},
                                               problem=False), _text(0, 10), _text(0, 10))
    creds_in_form = st.just(Request("POST", "/account/settings", 401, data=creds, problem=False))
    return st.one_of(good, bad_url, bad_creds, creds_in_form)


def _recipient(t: Target) -> st.SearchStrategy[Request]:
    @st.composite
    def good(draw: Any) -> Request:
        chosen = draw(st.sampled_from(CHANNELS))
        channel = draw(st.sampled_from([n for n in (chosen.name, chosen.v1_name) if n]))
        outcomes = ["delivered", *FAILED] + (["read"] if chosen.readable else [])
        outcome = draw(st.sampled_from(outcomes))
        rule: dict[str, Any] = {"outcome": outcome, "after": draw(st.none() | st.floats(0, 2592000))}
        if outcome in FAILED and draw(st.booleans()):
            rule["error_code"] = draw(st.sampled_from(sorted(ERROR_CODES)))
        ident = quote(draw(IDENT.filter(lambda s: s not in (".", ".."))), safe="")
        method = draw(st.sampled_from(["PUT", "PUT", "GET", "DELETE"]))
        return Request(method, f"/_sandbox/recipients/{channel}/{ident}", 200, auth=t.auth,
                       json=rule if method == "PUT" else None)

    bad_rules = st.one_of(
        st.sampled_from([c.name for c in CHANNELS if not c.readable]).map(
            lambda c: (c, {"outcome": "read", "after": 5})),
        st.builds(lambda o: ("messenger", {"outcome": o}), _text(0, 10).filter(
            lambda o: o not in ("read", "delivered", "rejected", "undeliverable"))),
        st.builds(lambda c: ("messenger", {"outcome": "rejected", "error_code": c}),
                  st.integers().filter(lambda c: c not in ERROR_CODES)),
        st.just(("messenger", {"outcome": "delivered", "error_code": 1300})),
        st.builds(lambda a: ("messenger", {"outcome": "read", "after": a}),
                  st.one_of(st.floats(max_value=-0.001), st.floats(min_value=2592001), _text(1, 4))),
        st.builds(lambda c: (c, {"outcome": "delivered"}), st.from_regex(r"[a-z]{1,12}", fullmatch=True).filter(
            lambda c: c not in _ALL_NAMES)),
    )
    bad = bad_rules.map(lambda cr: Request("PUT", f"/_sandbox/recipients/{cr[0]}/123", 0, json=cr[1], auth=t.auth))
    return st.one_of(good(), bad, st.just(Request("GET", "/_sandbox/recipients", 200, auth=t.auth)),
                     st.just(Request("DELETE", "/_sandbox/recipients", 200, auth=t.auth)),
                     st.just(Request("GET", "/_sandbox/recipients", 0)))


def _inbound(t: Target) -> st.SearchStrategy[Request]:
    valid = st.builds(lambda c, f, to, text, app: {k: v for k, v in {
        "channel": c, "from": f, "to": to, "text": text, "application_id": app}.items() if v is not None},
        st.sampled_from(INBOUND_CHANNELS), st.none() | IDENT, st.none() | IDENT,
        st.none() | _text(1, 200), st.sampled_from([None, t.app_id]))
    breakers = [(("channel",), DROP), (("channel",), st.sampled_from([*_NOT_INBOUND, "telegram", ""])),
                (("text",), st.just("")), (("from",), _text(51, 60)), (("extra",), _text()),
                (("application_id",), st.builds(lambda: str(uuid.uuid4())))]
    return _json_post("/_sandbox/inbound", 202, lambda _: valid, breakers, "basic")(t)


# inbound messages arrive on the channels of Dispatch and v0.1 (the sandbox's inbound route speaks v0.1 names)
INBOUND_CHANNELS = [c.name for c in V01_CHANNELS if c.name != "mms"]
_NOT_INBOUND = [c.name for c in CHANNELS if c.name not in INBOUND_CHANNELS]
_ALL_NAMES = {n for c in CHANNELS for n in (c.name, c.v1_name) if n}


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
        st.builds(lambda n: Request("POST", "/_sandbox/accounts", 201, headers={"X-Workshop-Token": TOKEN}, params=n),
                  NOISE),
        st.just(Request("POST", "/_sandbox/accounts", 0, headers={"X-Instructor-Token": TOKEN})),  # no longer read
        st.from_regex(r"[!-~]{0,30}", fullmatch=True).filter(lambda s: s != TOKEN).map(
            lambda s: Request("POST", "/_sandbox/accounts", 0, headers={"X-Workshop-Token": s})),
        st.just(Request("POST", "/_sandbox/accounts", 0, raw=b"{nope", headers={"X-Workshop-Token": TOKEN,
                                                                                  "Content-Type": "application/json"})),
        st.just(Request("GET", "/_sandbox/accounts", 0, headers={"X-Workshop-Token": TOKEN})),
    )


def channel_endpoints(channel: Channel) -> dict[str, Callable[[Target], st.SearchStrategy[Request]]]:
    """The endpoints that take ``channel``, each with its valid and broken requests on it."""
    found: dict[str, Callable[[Target], st.SearchStrategy[Request]]] = {}
    if channel.in_dispatch:
        found[f"POST /v0.1/dispatch via {channel.name}"] = _json_post(
            "/v0.1/dispatch", 202, lambda _: dispatch_body(channel), _dispatch_breakers(channel), "bearer")
    if channel.v01_content:
        found[f"POST /v0.1/messages via {channel.name}"] = _json_post(
            "/v0.1/messages", 202, lambda _: _v01_like(channel), _v01_channel_breakers(channel), "bearer")
    if channel.v1_name:
        found[f"POST /v1/messages via {channel.v1_name}"] = _json_post(
            "/v1/messages", 202, lambda _: v1_body(channel), _v1_channel_breakers(channel), "bearer")
    return found


ENDPOINTS: dict[str, Callable[[Target], st.SearchStrategy[Request]]] = {
    **{name: cases for c in CHANNELS for name, cases in channel_endpoints(c).items()},
    "POST /beta/workflows": _json_post("/beta/workflows", 202, lambda _: _tutorial_like(),
                                       _dispatch_breakers(CHANNELS[0]), "bearer"),
    "POST /v2/applications": _json_post("/v2/applications", 201, lambda t: application_body(t.public_key),
                                        _app_breakers, "basic"),
    "GET /v2/applications": _applications_list,
    "GET|PUT|DELETE /v2/applications/{id}": _application_one,
    "POST /account/settings": _settings,
    "GET /*/ping": lambda t: st.one_of(*(_get_cases(p, 200, None)(t) for p in (
        "/v0.1/dispatch/ping", "/v0.1/messages/ping", "/v1/messages/ping", "/v2/applications/ping"))),
    "GET /_sandbox": _get_cases("/_sandbox", 200),
    "GET /_sandbox/clock": _get_cases("/_sandbox/clock", 200),  # credentials needed in workshop mode
    "GET /_sandbox/openapi.json": _get_cases("/_sandbox/openapi.json", 200),
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


def run_endpoint(target: Target, name: str, examples: int, counts: dict[str, dict[str, int]], *,
                 derandomize: bool = False,
                 endpoints: dict[str, Callable[[Target], st.SearchStrategy[Request]]] | None = None) -> None:
    """Run ``examples`` generated cases against one endpoint, adding to ``counts[name]``.

    Args:
        target: the sandbox under test.
        name: a key of ``ENDPOINTS``.
        examples: how many cases to generate.
        counts: valid / invalid tallies per endpoint, updated in place.
        derandomize: the same cases on every run (the tests); random ones otherwise (the benchmark).
        endpoints: where ``name`` is looked up (``ENDPOINTS`` by default; ``channel_endpoints(c)`` for one channel).

    Raises:
        AssertionError: on the first answer that breaks the property.
    """
    tally = counts.setdefault(name, {"valid": 0, "invalid": 0})
    strategy = (endpoints or ENDPOINTS)[name](target)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck))
    @given(request=strategy)
    def property_(request: Request) -> None:
        tally[check(target, request)] += 1

    property_()




# -- hostile shapes: what no client should send, to every route --------------------------------------------------
DEPTH = 5_000
BIG = 3 * 1024 * 1024

#: route name -> (method, path; ``{id}`` is the target's application), how it authenticates.
HOSTILE_ROUTES: dict[str, tuple[str, str, str]] = {
    "dispatch": ("POST", "/v0.1/dispatch", "bearer"),
    "messages-v0.1": ("POST", "/v0.1/messages", "bearer"),
    "messages-v1": ("POST", "/v1/messages", "bearer"),
    "applications": ("POST", "/v2/applications", "basic"),
    "application": ("PUT", "/v2/applications/{id}", "basic"),
    "account-settings": ("POST", "/account/settings", "form"),
    "sandbox-clock-advance": ("POST", "/_sandbox/clock/advance", "basic"),
    "sandbox-recipient": ("PUT", "/_sandbox/recipients/sms/447700900000", "basic"),
    "sandbox-inbound": ("POST", "/_sandbox/inbound", "basic"),
    "sandbox-accounts": ("POST", "/_sandbox/accounts", "token"),
}

_JSON = {"Content-Type": "application/json"}

#: shape name -> (body bytes, headers); credentials are added by ``hostile_request`` unless the shape sets them.
HOSTILE_SHAPES: dict[str, tuple[bytes, dict[str, str]]] = {
    "deep-list": (b"[" * DEPTH + b"]" * DEPTH, _JSON),
    "deep-object": (b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, _JSON),
    "body-3mb": (b'{"name": "' + b"x" * BIG + b'"}', _JSON),
    "random-bytes": (random.Random(5000).randbytes(4096), _JSON),
    "text-plain": (b'{"name": "x"}', {"Content-Type": "text/plain"}),
    "form-with-json": (b'{"name": "x"}', {"Content-Type": "application/x-www-form-urlencoded"}),
    "multipart": (b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
                  {"Content-Type": "multipart/form-data; boundary=b"}),
    "no-content-type": (b'{"name": "x"}', {}),
    "json-latin-1": ('{"name": "caf\u00e9"}'.encode("latin-1"), {"Content-Type": "application/json; charset=latin-1"}),
    "bearer-garbage": (b'{"name": "x"}', {**_JSON, "Authorization": "Bearer not.a.jwt%%{}"}),
    "basic-not-base64": (b'{"name": "x"}', {**_JSON, "Authorization": "Basic !!not base64!!"}),
    "authorization-64kb": (b'{"name": "x"}', {**_JSON, "Authorization": "Bearer " + "A" * 65_536}),
}
_AUTH_SHAPES = {"bearer-garbage", "basic-not-base64", "authorization-64kb"}


def hostile_request(target: Target, route: str, shape: str) -> Request:
    """The request of ``shape`` to ``route``, with the target's credentials unless the shape breaks them."""
    method, path, auth = HOSTILE_ROUTES[route]
    raw, headers = HOSTILE_SHAPES[shape]
    headers, params = dict(headers), None
    if shape not in _AUTH_SHAPES:
        if auth == "bearer":
            headers.update(target.bearer())
        elif auth == "basic":
            headers["Authorization"] = _basic(API_KEY, API_SECRET)
        elif auth == "form":  # account settings take their credentials in the query or the form
            params = {"api_key": API_KEY, "api_secret": API_SECRET}
        else:
            headers["X-Workshop-Token"] = TOKEN
    elif auth == "token":
        headers["X-Workshop-Token"] = TOKEN
    return Request(method, path.replace("{id}", target.app_id), 0, raw=raw, headers=headers, params=params)


def check_hostile(target: Target, request: Request) -> None:
    """Send a hostile request: the answer must be a 4xx with a problem JSON object, never a 5xx or a hang.

    Raises:
        AssertionError: naming the request and the answer.
    """
    try:
        response = request.send(target)
    except requests.Timeout:
        raise AssertionError(f"no answer within {TIMEOUT} s: {request.method} {request.path}") from None
    except requests.ConnectionError as exc:
        raise AssertionError(f"connection closed without an answer: {request.method} {request.path}") from exc
    with response:
        what = f"{request.method} {request.path} -> {response.status_code} {response.text[:300]!r}"
        assert 400 <= response.status_code < 500, what
        assert response.headers.get("Content-Type", "").split(";")[0] in ("application/json",
                                                                          "application/problem+json"), what
        body = response.json()
        assert isinstance(body, dict), what
        # problem details (title) on Vonage's JSON APIs; error-code and error-code-label on account settings
        assert isinstance(body.get("title") or body.get("error_title") or body.get("error-code-label"), str), what
