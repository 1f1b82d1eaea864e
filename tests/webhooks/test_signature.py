"""Signed webhook verification: signature, payload_hash, iat."""

from __future__ import annotations

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
