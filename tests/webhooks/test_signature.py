"""Signed webhook verification: signature, payload_hash, iat."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings

import jwt
import pytest

from fbfailover import errors
from fbfailover.webhooks import SignatureError, payload_hash, verify_signed_webhook
from tests.webhooks.webhook_helpers import SECRET, sign

BODY = b'{"message_uuid":"m-1","status":"delivered"}'


def test_valid_signature_returns_claims():
    claims = verify_signed_webhook(sign(BODY), BODY, SECRET)
    assert claims["iss"] == "Vonage"
    assert claims["payload_hash"] == payload_hash(BODY)


def test_error_is_in_the_tree():
    assert issubclass(SignatureError, errors.FbfailoverError)
    assert issubclass(SignatureError, ValueError)


@pytest.mark.parametrize(("header", "body", "secret", "match"), [
    (None, BODY, SECRET, "no Authorization header"),
    ("Basic abc", BODY, SECRET, "Bearer"),
    ("Bearer not.a.jwt", BODY, SECRET, "not a valid JWT"),
    (sign(BODY), BODY + b" ", SECRET, "payload_hash does not match"),
    (sign(BODY), BODY.replace(b"delivered", b"read"), SECRET, "payload_hash does not match"),
    (sign(BODY, "another-secret-0123456789abcdef0123"), BODY, SECRET, "wrong secret"),
    (sign(BODY, iat=time.time() - 3600), BODY, SECRET, "stale iat"),
    (sign(BODY, iat=time.time() + 3600), BODY, SECRET, "future"),
    (sign(BODY, payload_hash=None), BODY, SECRET, "no payload_hash"),
])
def test_rejections(header, body, secret, match):
    with pytest.raises(SignatureError, match=match):
        verify_signed_webhook(header, body, secret)


def test_max_age_and_now_are_parameters():
    header = sign(BODY, iat=1000)
    assert verify_signed_webhook(header, BODY, SECRET, now=1100)["iat"] == 1000
    with pytest.raises(SignatureError, match="stale"):
        verify_signed_webhook(header, BODY, SECRET, now=1100, max_age=60)


def test_other_algorithms_are_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the secret is short for HS512
        token = jwt.encode({"iat": int(time.time()), "payload_hash": payload_hash(BODY)}, SECRET,
                           algorithm="HS512")
    with pytest.raises(SignatureError, match="HS256"):
        verify_signed_webhook("Bearer " + token, BODY, SECRET)


def test_short_secret_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the signer side warns; the receiver must not
        header = sign(BODY, "short")
    assert verify_signed_webhook(header, BODY, "short")["iss"] == "Vonage"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: object, payload: object, secret: str = SECRET, *, raw_payload: bytes | None = None) -> str:
    """A token signed with ``secret`` whatever its header and payload say (what a forger or a bug could send)."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(
        raw_payload if raw_payload is not None else json.dumps(payload).encode())
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(mac)


def _tokens() -> list[tuple[str, str]]:
    now = int(time.time())
    good = {"iat": now, "payload_hash": payload_hash(BODY), "iss": "Vonage"}
    valid = jwt.encode(good, SECRET, algorithm="HS256")
    head, claims, mac = valid.split(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hs512 = jwt.encode(good, SECRET, algorithm="HS512")
    return [
        ("valid", valid),
        ("valid, exp ahead and nbf past", jwt.encode({**good, "exp": now + 60, "nbf": now - 60}, SECRET)),
        ("HS512", hs512),
        ("alg none, unsigned", _b64(b'{"alg":"none","typ":"JWT"}') + "." + claims + "."),
        ("alg none, signed anyway", _hand_made({"alg": "none"}, good)),
        ("crit extension", _hand_made({"alg": "HS256", "crit": ["b64"], "b64": False}, good)),
        ("expired", jwt.encode({**good, "exp": now - 10}, SECRET)),
        ("exp not a number", _hand_made({"alg": "HS256"}, {**good, "exp": "soon"})),
        ("not yet valid", jwt.encode({**good, "nbf": now + 600}, SECRET)),
        ("payload a list", _hand_made({"alg": "HS256"}, [1, 2])),
        ("payload not JSON", _hand_made({"alg": "HS256"}, None, raw_payload=b"\xff{not json")),
        ("header a list", _hand_made(["HS256"], good)),
        ("signature changed", f"{head}.{claims}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"),
        ("claims changed", f"{head}.{_b64(json.dumps({**good, 'iss': 'me'}).encode())}.{mac}"),
        ("wrong secret", jwt.encode(good, "another-secret-0123456789abcdef0123", algorithm="HS256")),
        ("two segments", f"{head}.{claims}"),
        ("four segments", f"{valid}.{mac}"),
        ("not base64", f"{head}.{claims}.!!!*"),
        ("not ASCII", f"{head}.{claims}é.{mac}"),
        ("empty", "."),
    ]


@pytest.mark.parametrize(("case", "token"), _tokens())
def test_the_standard_library_check_agrees_with_pyjwt(case, token):
    """``verify_signed_webhook`` checks HS256 with hmac/base64/json: every token PyJWT's ``jwt.decode(...,
    algorithms=["HS256"])`` refuses is refused, and every one it accepts is accepted with the same claims."""
    try:
        expected = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        expected = None
    if expected is None:
        with pytest.raises(SignatureError):
            verify_signed_webhook(f"Bearer {token}", BODY, SECRET)
    else:
        assert verify_signed_webhook(f"Bearer {token}", BODY, SECRET) == expected


def test_a_payload_hash_that_is_not_ascii_is_refused_not_a_crash():
    with pytest.raises(SignatureError, match="payload_hash does not match"):
        verify_signed_webhook(sign(BODY, payload_hash="é" * 64), BODY, SECRET)


@pytest.mark.parametrize("where", ["header", "payload"])
def test_json_nested_too_deep_is_refused_not_a_crash(where):
    deep = b"[" * 100_000 + b"]" * 100_000
    good = {"alg": "HS256"}
    token = (_hand_made(good, None, raw_payload=deep) if where == "payload"
             else _b64(deep) + "." + _b64(b"{}") + "." + _b64(b"x"))
    with pytest.raises(SignatureError, match="not a valid JWT"):
        verify_signed_webhook(f"Bearer {token}", BODY, SECRET)
