"""JWT and Basic authentication of the Dispatch and Messages endpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests

from tests.sandbox.sandbox_helpers import basic, create_app, mint, post_dispatch, tutorial_body

NOW = int(time.time())


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _hs256_with_public_key(app_id: str, public_pem: str) -> str:
    """The key-confusion attack, signed by hand (pyjwt itself refuses to use a PEM as an HMAC secret)."""
    claims = {"application_id": app_id, "iat": NOW, "jti": str(uuid.uuid4())}
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    mac = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _none_token(app_id: str) -> str:
    claims = {"application_id": app_id, "iat": NOW, "jti": str(uuid.uuid4())}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _lives(app_id: str, private_key: str, seconds: int) -> str:
    """A token whose exp is ``seconds`` after its iat, the current time."""
    now = int(time.time())
    return mint(app_id, private_key, iat=now, exp=now + seconds)


REFUSED = {
    "alg none": lambda app, keys, other: _none_token(app),
    "HS256 keyed with the public key": lambda app, keys, other: _hs256_with_public_key(app, keys[1]),
    "HS512 with a secret": lambda app, keys, other: jwt.encode(
        {"application_id": app, "iat": NOW, "jti": str(uuid.uuid4())}, "x" * 64, algorithm="HS512"
    ),
    "RS512": lambda app, keys, other: mint(app, keys[0], algorithm="RS512"),
    "signed by another key": lambda app, keys, other: mint(app, other[0]),
    "garbage": lambda app, keys, other: "not.a.jwt",
    "empty": lambda app, keys, other: "",
    "no application_id": lambda app, keys, other: mint(app, keys[0], drop=("application_id",)),
    "no iat": lambda app, keys, other: mint(app, keys[0], drop=("iat",)),
    "no jti": lambda app, keys, other: mint(app, keys[0], drop=("jti",)),
    "jti empty": lambda app, keys, other: mint(app, keys[0], jti=""),
    "jti a number": lambda app, keys, other: mint(app, keys[0], jti=12345),
    "iat a string": lambda app, keys, other: mint(app, keys[0], iat="123", drop=("exp",)),
    "expired": lambda app, keys, other: mint(app, keys[0], iat=NOW - 4000, exp=NOW - 3000),
    "default lifetime over": lambda app, keys, other: mint(app, keys[0], iat=NOW - 1000, drop=("exp",)),
    "exp more than 24 h after iat": lambda app, keys, other: mint(app, keys[0], exp=NOW + 86400 + 60),
    "exp 29 s after iat (Vonage's minimum is 30 s)": lambda app, keys, other: _lives(app, keys[0], 29),
    "exp before iat": lambda app, keys, other: mint(app, keys[0], iat=NOW, exp=NOW - 1),
    "not valid before later": lambda app, keys, other: mint(app, keys[0], nbf=NOW + 600),
    "iat in the future": lambda app, keys, other: mint(app, keys[0], iat=NOW + 600, exp=NOW + 1200),
    "unknown application": lambda app, keys, other: mint(str(uuid.uuid4()), keys[0]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_tokens(sandbox, key_pair, other_key_pair, case):
    app = create_app(sandbox, key_pair[1])
    token = REFUSED[case](app["id"], key_pair, other_key_pair)
    response = post_dispatch(sandbox, token)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["title"] == "Unauthorised" and body["detail"] == "Invalid Token"
    assert len(body["instance"]) == 32
    assert response.headers["Content-Type"] == "application/json"


ACCEPTED = {
    "nexmo-cli / nexmo-node: no exp, uuid v1": {"jti": str(uuid.uuid1()), "drop": ("exp",)},
    "python sdk 2.x: exp iat+60": {"ttl": 60},  # from the time it is minted: NOW is when the module loaded
    "vonage-jwt: exp iat+900, uuid v4": {},
    "24 h token": {"exp": NOW + 86400},
    "30 s token, the shortest Vonage allows": {"ttl": 30},
    "jti not a uuid (Vonage asks for a unique id only)": {"jti": "my-token-0001"},
    "nbf in the past, extra string claims": {
        "nbf": NOW - 10,
        "name": "value",
        "acl": {"paths": {"/*/**": {}}},
    },
    "clock skew: iat a few seconds ahead": {"iat": NOW + 10, "exp": NOW + 910},
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_tokens(sandbox, key_pair, case):
    app = create_app(sandbox, key_pair[1])
    options = dict(ACCEPTED[case])
    drop = options.pop("drop", ())
    if "ttl" in options:
        token = _lives(app["id"], key_pair[0], options.pop("ttl"))
    else:
        token = mint(app["id"], key_pair[0], drop=drop, **options)
    response = post_dispatch(sandbox, token)
    assert response.status_code == 202, response.text
    uuid.UUID(response.json()["dispatch_uuid"])


def test_deleted_application_is_refused_even_with_a_token_used_before(sandbox, key_pair):
    app = create_app(sandbox, key_pair[1])
    token = mint(app["id"], key_pair[0])
    assert post_dispatch(sandbox, token).status_code == 202
    assert post_dispatch(sandbox, token).status_code == 202  # reuse of one token is fine, as the tutorial does
    requests.delete(f"{sandbox.url}/v2/applications/{app['id']}", auth=basic(sandbox), timeout=10)
    assert post_dispatch(sandbox, token).status_code == 401


def test_replaced_public_key_refuses_old_tokens(sandbox, key_pair, other_key_pair):
    app = create_app(sandbox, key_pair[1])
    token = mint(app["id"], key_pair[0])
    assert post_dispatch(sandbox, token).status_code == 202
    requests.put(
        f"{sandbox.url}/v2/applications/{app['id']}",
        json={"name": "x", "keys": {"public_key": other_key_pair[1]}},
        auth=basic(sandbox),
        timeout=10,
    )
    assert post_dispatch(sandbox, token).status_code == 401
    assert post_dispatch(sandbox, mint(app["id"], other_key_pair[0])).status_code == 202


def test_basic_auth_and_missing_header(sandbox):
    ok = requests.post(f"{sandbox.url}/v0.1/dispatch", json=tutorial_body(), auth=basic(sandbox), timeout=10)
    assert ok.status_code == 202
    wrong = requests.post(f"{sandbox.url}/v0.1/dispatch", json=tutorial_body(), auth=("a1b2c3d4", "x"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Invalid Token"
    for header in ("", "Basic !!!", "Token abc", "Bearer"):
        response = requests.post(
            f"{sandbox.url}/v0.1/dispatch",
            json=tutorial_body(),
            timeout=10,
            headers={"Authorization": header} if header else {},
        )
        assert response.status_code == 401
    v1 = requests.post(f"{sandbox.url}/v1/messages", json={}, timeout=10)
    assert v1.status_code == 401
    assert v1.json()["detail"] == "Request header 'Authorization' missing"


ACL_PATHS = {
    # pattern -> (method, path) pairs it allows, then pairs it refuses
    "/*/dispatch/**": ([("POST", "/v0.1/dispatch"), ("POST", "/v0.1/dispatch/"), ("GET", "/v0.1/dispatch/x/y")],
                       [("POST", "/v0.1/messages"), ("POST", "/v1/messages"), ("POST", "/beta/workflows")]),
    "/*/messages/**": ([("POST", "/v0.1/messages"), ("POST", "/v1/messages")], [("POST", "/v0.1/dispatch")]),
    "/v1/*": ([("POST", "/v1/messages")], [("POST", "/v0.1/messages"), ("POST", "/v1/messages/x")]),
    "/**": ([("POST", "/v0.1/dispatch"), ("GET", "/")], []),
    "/v0.*/dispatch": ([("POST", "/v0.1/dispatch")], [("POST", "/v1/dispatch")]),
}


@pytest.mark.parametrize("pattern", sorted(ACL_PATHS))
def test_acl_patterns_match_paths_like_vonage_globs(pattern):
    from fbfailover.sandbox.auth import acl_allows

    allowed, refused = ACL_PATHS[pattern]
    acl = {"paths": {pattern: {}}}
    assert [acl_allows(acl, m, p) for m, p in allowed] == [True] * len(allowed)
    assert [acl_allows(acl, m, p) for m, p in refused] == [False] * len(refused)


def test_acl_methods_and_no_acl():
    from fbfailover.sandbox.auth import acl_allows

    assert acl_allows(None, "POST", "/v0.1/messages")
    only_get = {"paths": {"/*/dispatch/**": {"methods": ["GET"]}}}
    assert not acl_allows(only_get, "POST", "/v0.1/dispatch")
    assert acl_allows(only_get, "get", "/v0.1/dispatch")
    assert not acl_allows({"paths": {}}, "POST", "/v0.1/dispatch")


def test_a_token_whose_acl_allows_only_dispatch_is_refused_by_messages_with_403(sandbox, key_pair):
    app = create_app(sandbox, key_pair[1])
    token = mint(app["id"], key_pair[0], acl={"paths": {"/*/dispatch/**": {}}})
    assert post_dispatch(sandbox, token).status_code == 202
    refused = requests.post(f"{sandbox.url}/v0.1/messages", json={}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["title"] == "Forbidden"
    assert "POST /v0.1/messages" in body["detail"] and "/*/dispatch/**" in body["detail"]
    assert body["type"].startswith("https://developer.vonage.com/api-errors")
    # the refusal comes before the body is read: an empty body on an allowed path is a 400, not a 403
    assert requests.post(f"{sandbox.url}/v0.1/dispatch", json={}, timeout=10,
                         headers={"Authorization": f"Bearer {token}"}).status_code == 400


@pytest.mark.parametrize("acl", [["/*/dispatch/**"], {"paths": ["/*/dispatch/**"]}, "everything"])
def test_a_malformed_acl_makes_the_token_invalid(sandbox, key_pair, acl):
    app = create_app(sandbox, key_pair[1])
    response = post_dispatch(sandbox, mint(app["id"], key_pair[0], acl=acl))
    assert response.status_code == 401 and response.json()["detail"] == "Invalid Token"
