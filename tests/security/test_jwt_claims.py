"""Hostile application JWTs: claims that must never make a token valid forever, and ``acl`` patterns that must
never make the check slow. Every such token gets a 401 (or, for a valid token, its 403) promptly, never a 202 and
never a 500."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import requests

from fbfailover.sandbox import auth
from tests.sandbox.sandbox_helpers import create_app, post_dispatch

NOW = int(time.time())


def _token(app_id: str, private_key: str, **claims) -> str:
    """A token with exactly these claims on top of application_id and jti (pyjwt writes NaN and Infinity as is)."""
    payload = {"application_id": app_id, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(payload, private_key, algorithm="RS256")


NAN, INF = float("nan"), float("inf")

NEVER_VALID = {
    "exp NaN": {"iat": NOW, "exp": NAN},
    "iat NaN, no exp": {"iat": NAN},
    "iat NaN, exp NaN": {"iat": NAN, "exp": NAN},
    "exp Infinity": {"iat": NOW, "exp": INF},
    "iat -Infinity, exp -Infinity": {"iat": -INF, "exp": -INF},
    "nbf NaN": {"iat": NOW, "exp": NOW + 900, "nbf": NAN},
    "nbf -Infinity": {"iat": NOW, "exp": NOW + 900, "nbf": -INF},
    "exp a huge float": {"iat": NOW, "exp": 1e308},
    "exp a huge integer": {"iat": NOW, "exp": 10**400},
    "iat a huge negative integer": {"iat": -(10**400)},
    "iat true": {"iat": True},
    "exp true": {"iat": NOW, "exp": True},
    "nbf false": {"iat": NOW, "exp": NOW + 900, "nbf": False},
    "exp a string": {"iat": NOW, "exp": str(NOW + 900)},
    "iat a string": {"iat": str(NOW)},
    "nbf a string": {"iat": NOW, "exp": NOW + 900, "nbf": str(NOW)},
    "exp a list": {"iat": NOW, "exp": [NOW + 900]},
    "iat negative": {"iat": -5, "exp": 895},
}


@pytest.mark.parametrize("case", sorted(NEVER_VALID))
def test_claims_that_are_not_times_are_refused_with_401(sandbox, key_pair, case):
    app = create_app(sandbox, key_pair[1])
    response = post_dispatch(sandbox, _token(app["id"], key_pair[0], **NEVER_VALID[case]))
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "Invalid Token"


def test_a_nan_token_stays_refused_when_reused(sandbox, key_pair):
    """The verified-token cache must not keep a NaN expiry that compares false forever."""
    app = create_app(sandbox, key_pair[1])
    token = _token(app["id"], key_pair[0], iat=NAN)
    assert [post_dispatch(sandbox, token).status_code for _ in range(3)] == [401, 401, 401]


def _hostile(k: int) -> str:
    return "/" + "/**" * k + "/nomatch"


def test_acl_matching_does_at_most_pattern_times_path_segment_comparisons(monkeypatch):
    """The matcher carries reachable path positions forward: no backtracking, whatever the pattern."""
    calls = 0
    compare = auth._segment_matches

    def counted(pattern: str, segment: str) -> bool:
        nonlocal calls
        calls += 1
        return compare(pattern, segment)

    monkeypatch.setattr(auth, "_segment_matches", counted)
    path = "/v0.1/dispatch/a/b/c/d/e/f/g/h"
    segments = len([p for p in path.split("/") if p])
    for k in (10, 50, 100):
        calls = 0
        pattern = _hostile(k)
        assert not auth.acl_allows({"paths": {pattern: {}}}, "POST", path)
        assert calls <= (k + 1) * segments
    calls = 0
    assert auth.acl_allows({"paths": {"/**/**/*/**/dispatch/**": {}}}, "POST", path)
    assert calls <= 6 * segments


@pytest.mark.parametrize(("pattern", "segment", "expected"), [
    ("v0.*", "v0.1", True), ("*", "", True), ("*.*", "v0.1", True), ("*a*a*a*a*b", "a" * 200, False),
    ("a*b*c", "abc", True), ("a*b*c", "acb", False), ("ab*ba", "aba", False), ("**x", "xx", True),
])
def test_wildcards_inside_a_segment(pattern, segment, expected):
    assert auth._segment_matches(pattern, segment) is expected


@pytest.mark.parametrize(("k", "status"), [(80, 403), (200, 401)])
def test_a_hostile_acl_on_a_real_request_is_answered_at_once(sandbox, key_pair, k, status):
    """``"/" + "/**" * k + "/nomatch"`` against a three-segment path (``/v2/applications/<id>``) kept the sandbox's
    loop busy for seconds to minutes before (k=100 took 10 s, k=200 far longer). Now a pattern within the bound
    (k=80, 249 characters) is matched at once (403: it matches nothing) and a longer one makes the token invalid
    (401); either way the sandbox keeps answering. The 20 s timeout is only a bound for a hang."""
    app = create_app(sandbox, key_pair[1])
    token = _token(app["id"], key_pair[0], iat=NOW, exp=NOW + 900, acl={"paths": {_hostile(k): {}}})
    refused = requests.get(f"{sandbox.url}/v2/applications/{app['id']}", timeout=20,
                           headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == status, refused.text
    assert requests.get(f"{sandbox.url}/v0.1/dispatch/ping", timeout=20).status_code == 200


@pytest.mark.parametrize("acl", [
    {"paths": {f"/v1/p{i}/**": {} for i in range(65)}},  # MAX_ACL_PATHS is 64
    {"paths": {"/" + "a" * 256 + "/**": {}}},  # MAX_ACL_PATTERN is 256 characters
])
def test_an_oversized_acl_makes_the_token_invalid(sandbox, key_pair, acl):
    app = create_app(sandbox, key_pair[1])
    response = post_dispatch(sandbox, _token(app["id"], key_pair[0], iat=NOW, exp=NOW + 900, acl=acl))
    assert response.status_code == 401 and response.json()["detail"] == "Invalid Token"
