"""Application JWTs: verified round trips, claims, limits, key caching, display decoding, Basic auth."""

from __future__ import annotations

import base64
import os
import time
import uuid
from datetime import datetime, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from fbfailover import tokens
from fbfailover.errors import KeyNotFoundError, TokenError
from fbfailover.keys import load_private_key, private_pem, public_pem, save_private_key
from fbfailover.tokens import (
    basic_auth_header,
    decode_for_display,
    mint_application_jwt,
    verify_application_jwt,
)

APP = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def test_round_trip_verifies_with_the_public_key(rsa_key, public_key):
    token = mint_application_jwt(APP, rsa_key)
    claims = verify_application_jwt(token, public_key)
    assert claims["application_id"] == APP
    assert claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 5
    assert uuid.UUID(claims["jti"]).version == 4
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}


def test_fixed_time_and_jti_give_a_deterministic_token(rsa_key):
    a = mint_application_jwt(APP, rsa_key, now=1_700_000_000, jti="fixed", ttl=60)
    when = datetime.fromtimestamp(1_700_000_000, timezone.utc)
    b = mint_application_jwt(APP, rsa_key, now=when, jti="fixed", ttl=60)
    assert a == b  # PKCS#1 v1.5 signatures are deterministic
    claims = jwt.decode(a, options={"verify_signature": False})
    assert claims == {"application_id": APP, "iat": 1_700_000_000, "jti": "fixed", "exp": 1_700_000_060}


def test_optional_claims(rsa_key, public_key):
    now = int(time.time())
    token = mint_application_jwt(APP, rsa_key, nbf=now - 10, sub="alice", acl={"/*/users/**": {}},
                                 claims={"custom": [1, 2]})
    claims = verify_application_jwt(token, public_key)
    assert claims["nbf"] == now - 10 and claims["sub"] == "alice" and claims["custom"] == [1, 2]
    assert claims["acl"] == {"paths": {"/*/users/**": {}}}
    full = {"paths": {"/*/conversations/**": {"methods": ["GET"]}}}
    assert verify_application_jwt(mint_application_jwt(APP, rsa_key, acl=full), public_key)["acl"] == full


def test_ttl_none_leaves_out_exp_like_nexmo_cli(rsa_key, public_key):
    claims = verify_application_jwt(mint_application_jwt(APP, rsa_key, ttl=None), public_key)
    assert "exp" not in claims


@pytest.mark.parametrize("ttl", [0, -1, 1, 10, 29, 86_401, 100_000, 1.5, True, "900"])
def test_ttl_limits(rsa_key, ttl):
    with pytest.raises(TokenError, match=r"from 30 s to 24 h \(86400 s\)"):
        mint_application_jwt(APP, rsa_key, ttl=ttl)


def test_ttl_lower_bound_is_vonages_30_seconds(rsa_key, public_key):
    """Vonage's authentication guide: exp at least 30 s after iat; mint_application_jwt(ttl=10) would fail live."""
    claims = verify_application_jwt(mint_application_jwt(APP, rsa_key, ttl=30), public_key)
    assert claims["exp"] - claims["iat"] == 30
    with pytest.raises(TokenError, match="30 s"):
        mint_application_jwt(APP, rsa_key, ttl=10)
    short = jwt.encode({"application_id": APP, "iat": int(time.time()), "jti": "x", "exp": int(time.time()) + 10},
                       rsa_key, algorithm="RS256")
    with pytest.raises(TokenError, match="30 s to 24 h"):
        verify_application_jwt(short, public_key)


def test_ttl_upper_bound_is_allowed(rsa_key, public_key):
    claims = verify_application_jwt(mint_application_jwt(APP, rsa_key, ttl=86_400), public_key)
    assert claims["exp"] - claims["iat"] == 86_400


@pytest.mark.parametrize("app_id", ["", "   ", None])
def test_application_id_is_required(rsa_key, app_id):
    with pytest.raises(TokenError, match="VONAGE_APPLICATION_ID"):
        mint_application_jwt(app_id, rsa_key)  # type: ignore[arg-type]


def test_bad_acl_and_claims(rsa_key):
    with pytest.raises(TokenError, match="acl must be a mapping"):
        mint_application_jwt(APP, rsa_key, acl=["/*/users/**"])  # type: ignore[arg-type]
    with pytest.raises(TokenError, match="JSON"):
        mint_application_jwt(APP, rsa_key, claims={"when": object()})
    with pytest.raises(TokenError, match="now must be"):
        mint_application_jwt(APP, rsa_key, now="yesterday")  # type: ignore[arg-type]


def test_key_from_path_and_pem(rsa_key, public_key, key_file):
    for source in (key_file, str(key_file), private_pem(rsa_key), private_pem(rsa_key).encode()):
        assert verify_application_jwt(mint_application_jwt(APP, source), public_key)["application_id"] == APP


def test_rewritten_key_file_is_reloaded(tmp_path):
    path = tmp_path / "k.key"
    first = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    save_private_key(first, path)
    verify_application_jwt(mint_application_jwt(APP, path), public_pem(first))
    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    save_private_key(second, path, overwrite=True)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))  # a distinct mtime even on coarse clocks
    verify_application_jwt(mint_application_jwt(APP, path), public_pem(second))


def test_missing_key_file(tmp_path):
    with pytest.raises(KeyNotFoundError, match="not found"):
        mint_application_jwt(APP, tmp_path / "missing.key")


def test_verify_rejects_other_keys_expiry_and_algorithms(rsa_key, public_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(TokenError, match="Signature verification failed"):
        verify_application_jwt(mint_application_jwt(APP, other), public_key)
    old = mint_application_jwt(APP, rsa_key, now=time.time() - 3600, ttl=60)
    with pytest.raises(TokenError, match="expired"):
        verify_application_jwt(old, public_key)
    claims = {"application_id": APP, "iat": int(time.time()), "jti": "x"}
    hs = jwt.encode(claims, "secret" * 6, algorithm="HS256")
    with pytest.raises(TokenError):
        verify_application_jwt(hs, public_key)
    missing = mint_application_jwt(APP, rsa_key, claims={"application_id": None})
    with pytest.raises(TokenError, match="application_id"):
        verify_application_jwt(missing, public_key)


def test_leeway_tolerates_small_clock_skew(rsa_key, public_key):
    token = mint_application_jwt(APP, rsa_key, now=time.time() - 70, ttl=60)
    verify_application_jwt(token, public_key, leeway=30)
    with pytest.raises(TokenError):
        verify_application_jwt(token, public_key, leeway=0)


def test_decode_for_display(rsa_key):
    token = mint_application_jwt(APP, rsa_key, now=1_700_000_000, nbf=1_700_000_000, jti="j")
    shown = decode_for_display(token)
    assert shown["verified"] is False and "NOT verified" in shown["note"]
    assert shown["header"] == {"alg": "RS256", "typ": "JWT"}
    assert shown["claims"]["jti"] == "j"
    assert shown["times"] == {"iat": "2023-11-14 22:13:20 UTC", "nbf": "2023-11-14 22:13:20 UTC",
                              "exp": "2023-11-14 22:28:20 UTC", "lifetime_seconds": 900}
    assert decode_for_display(" " + token + "\n")["claims"] == shown["claims"]


@pytest.mark.parametrize("text", ["", "abc", "a.b", "a.b.c", None])
def test_decode_for_display_rejects_non_tokens(text):
    with pytest.raises(TokenError, match="JWT"):
        decode_for_display(text)  # type: ignore[arg-type]


def test_basic_auth_header():
    header = basic_auth_header("abc123", "s3cr3t")
    assert header == "Basic " + base64.b64encode(b"abc123:s3cr3t").decode()


def test_minted_token_verifies_with_pyjwt_and_the_public_key(rsa_key, public_key):
    token = mint_application_jwt(APP, private_pem(rsa_key), now=time.time(), jti="j-1", ttl=60)
    claims = jwt.decode(token, public_key, algorithms=["RS256"])
    assert claims["application_id"] == APP and claims["jti"] == "j-1"
    assert claims["exp"] - claims["iat"] == 60


def test_a_pem_is_loaded_once_and_its_key_object_reused(rsa_key, public_key, monkeypatch):
    loaded = []

    def counting_loader(pem):
        loaded.append(pem)
        return load_private_key(pem)

    monkeypatch.setattr(tokens, "load_private_key", counting_loader)
    tokens._key_from_pem.cache_clear()
    try:
        pem = private_pem(rsa_key)
        first = mint_application_jwt(APP, pem, jti="a")
        second = mint_application_jwt(APP, pem.encode(), jti="b")  # same key as bytes: same cache entry
        assert len(loaded) == 1
        assert tokens._key_from_pem(pem.encode()) is tokens._key_from_pem(pem.encode())
        assert len(loaded) == 1
        for token in (first, second):
            assert jwt.decode(token, public_key, algorithms=["RS256"])["application_id"] == APP
    finally:
        tokens._key_from_pem.cache_clear()  # drop the entry made through the counting loader
