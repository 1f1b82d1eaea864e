"""Verify a signed webhook: the Messages/Dispatch JWT, and the SMS API's ``sig`` parameter.

**Messages and Dispatch** (HS256 JWT in ``Authorization: Bearer``): Vonage signs Messages and Dispatch
webhooks with the account's *signature secret*. The token's claims carry ``iat`` (seconds), ``jti``, ``iss``
(``"Vonage"``), ``api_key``, ``application_id`` when an application was used, and ``payload_hash``: the
SHA-256 hex digest of the request body. Checking the signature alone proves the token came from Vonage;
comparing ``payload_hash`` with the body proves the body is the one that was signed; checking ``iat`` stops
an old request from being replayed.

When the receiver knows the account's API key, the token's ``api_key`` claim must name it: a token signed
for another account (one sharing the secret, or a replay from another project) is refused.

**SMS API** (``/webhooks/inbound-sms``, ``/webhooks/delivery-receipt``; only when the account has signed SMS
webhooks enabled): the callback carries ``sig`` and ``timestamp`` (epoch seconds) among its parameters, in the
query string or the form/JSON body. The string to sign is every parameter except ``sig``, sorted by name, each
written ``&name=value`` with any ``&`` or ``=`` inside a value replaced by ``_``. The account's signature
method decides the rest:

- ``md5hash``: MD5 of that string followed by the signature secret;
- ``md5``, ``sha1``, ``sha256``, ``sha512``: HMAC of that string keyed with the signature secret.

Either way ``sig`` is hex, compared without regard to case and in constant time. The receiver does not know
which method the dashboard is set to, so it accepts any of ``SMS_SIGNATURE_METHODS`` unless told fewer.
``timestamp`` must lie in the same window as a JWT's ``iat``: at most ``max_age`` (300 s) old and at most
``CLOCK_SKEW`` (60 s) ahead.

``iat`` and ``timestamp`` are always compared with the *real* wall clock. The sandbox runs a time-scaled
simulated clock for message timestamps, but it signs with real wall-clock ``iat`` so that a receiver behaves
the same against the sandbox and against Vonage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from fbfailover.errors import SignatureError  # defined with the rest of the error tree

__all__ = [
    "DEFAULT_MAX_AGE",
    "SMS_SIGNATURE_METHODS",
    "SignatureError",
    "payload_hash",
    "sms_signature",
    "verify_signed_webhook",
    "verify_sms_signature",
]

DEFAULT_MAX_AGE = 300.0
"""Oldest accepted ``iat``, in real seconds (Vonage retries for hours, but each retry is signed afresh)."""

CLOCK_SKEW = 60.0
"""How far in the future an ``iat`` (or an SMS ``timestamp``) may be before it is refused (clocks differ)."""

SMS_SIGNATURE_METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")
"""The SMS API's signature methods: MD5 over the parameters and the secret, or an HMAC keyed with it."""


def payload_hash(body: bytes) -> str:
    """SHA-256 hex digest of the exact body bytes, as the ``payload_hash`` claim carries it."""
    return hashlib.sha256(body).hexdigest()


def _token(authorization: str | None) -> str:
    if not authorization:
        raise SignatureError("unsigned webhook: no Authorization header (signature secret is set)")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SignatureError("Authorization header is not 'Bearer <JWT>'")
    return token.strip()


def verify_signed_webhook(authorization: str | None, body: bytes, secret: str, *,
                          max_age: float = DEFAULT_MAX_AGE, now: float | None = None,
                          api_key: str | None = None) -> dict[str, Any]:
    """Check a signed webhook and return its JWT claims.

    Args:
        authorization: the ``Authorization`` header value (``Bearer <JWT>``), or None.
        body: the exact request body bytes (parsed-and-reserialised JSON would not hash the same).
        secret: the account's signature secret.
        max_age: the oldest ``iat`` accepted, in real seconds.
        now: the real wall-clock time to check against (defaults to ``time.time()``).
        api_key: the account's API key, when known: the ``api_key`` claim must equal it.

    Returns:
        The verified claims.

    Raises:
        SignatureError: when the header is missing or malformed, the signature does not match the secret,
            ``payload_hash`` is missing or differs from the body's hash, or ``iat`` is missing, too old or in
            the future, or the ``api_key`` claim is not ``api_key``.
    """
    claims = _hs256_claims(_token(authorization), secret)
    expected = claims.get("payload_hash")
    if not isinstance(expected, str) or not expected:
        raise SignatureError("signed token has no payload_hash claim")
    if not hmac.compare_digest(expected.lower().encode("utf-8"), payload_hash(body).encode("ascii")):
        raise SignatureError("payload_hash does not match the body (body changed after signing)")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise SignatureError("signed token has no numeric iat claim")
    _check_fresh("iat", iat, max_age, now)
    if api_key is not None and claims.get("api_key") != api_key:
        raise SignatureError(f"signed for API key {claims.get('api_key')!r}, not this account's {api_key!r} "
                             "(a webhook of another account or project?)")
    return claims


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _hs256_claims(token: str, secret: str) -> dict[str, Any]:
    """The claims of a compact HS256 JWS (RFC 7515/7519) whose signature matches ``secret``.

    The checks PyJWT's ``jwt.decode(token, secret, algorithms=["HS256"])`` makes, with the standard library (a
    signed webhook costs the receiver about a tenth of what PyJWT's checks did; ``tests/webhooks/test_signature.py``
    holds the two to the same verdicts): three base64url segments; a JSON object header whose ``alg`` is
    ``HS256`` (any other, ``none`` included, is refused before any key is used) with no ``crit`` extension (none
    is understood here, so RFC 7515 says refuse); the HMAC-SHA256 of the first two segments, compared in constant
    time; a JSON object payload; ``exp`` and ``nbf``, when present, numeric and against the real clock.

    Raises:
        SignatureError: with the reason.
    """
    try:
        signing_input, _, signature_segment = token.rpartition(".")
        header_segment, payload_segment = signing_input.split(".")  # else not three segments: ValueError
        header = json.loads(_b64url_decode(header_segment))
        payload = _b64url_decode(payload_segment)
        signature = _b64url_decode(signature_segment)
        signed = signing_input.encode("ascii")
    except (ValueError, binascii.Error, UnicodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise SignatureError(f"Authorization token is not a valid JWT: {exc}") from exc
    if not isinstance(header, dict):
        raise SignatureError("Authorization token is not a valid JWT: its header is not a JSON object")
    if header.get("alg") != "HS256":
        raise SignatureError(f"webhook is not signed with HS256 (alg {header.get('alg')!r})")
    if "crit" in header:
        raise SignatureError("Authorization token is not a valid JWT: it names critical extensions (crit)")
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match the signature secret (wrong secret?)")
    try:
        claims = json.loads(payload)
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise SignatureError(f"Authorization token is not a valid JWT: its payload is not JSON: {exc}") from exc
    if not isinstance(claims, dict):
        raise SignatureError("Authorization token is not a valid JWT: its payload is not a JSON object")
    current = time.time()
    for name in ("exp", "nbf"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise SignatureError(f"Authorization token is not a valid JWT: {name} is not a number")
    if "exp" in claims and claims["exp"] <= current:
        raise SignatureError("signed token has expired")
    if "nbf" in claims and claims["nbf"] > current:
        raise SignatureError("Authorization token is not a valid JWT: the token is not yet valid (nbf)")
    return claims


def _check_fresh(name: str, moment: float, max_age: float, now: float | None) -> None:
    current = time.time() if now is None else now
    if current - moment > max_age:
        raise SignatureError(f"stale {name}: signed {current - moment:.0f} s ago "
                             f"(limit {max_age:.0f} s; replayed?)")
    if moment - current > CLOCK_SKEW:
        raise SignatureError(f"{name} is {moment - current:.0f} s in the future (clock skew?)")


def _string_to_sign(params: Mapping[str, Any]) -> bytes:
    parts = []
    for name in sorted(params):
        if name == "sig":
            continue
        value = str(params[name]).replace("&", "_").replace("=", "_")
        parts.append(f"&{name}={value}")
    return "".join(parts).encode("utf-8")


def sms_signature(params: Mapping[str, Any], secret: str, method: str = "md5hash") -> str:
    """The SMS API's ``sig`` of ``params`` (``sig`` itself left out), as lower-case hex.

    Args:
        params: the callback's parameters, ``timestamp`` included.
        secret: the account's signature secret.
        method: one of ``SMS_SIGNATURE_METHODS``.

    Returns:
        The hex digest.

    Raises:
        ValueError: for an unknown method.
    """
    data = _string_to_sign(params)
    if method == "md5hash":
        return hashlib.md5(data + secret.encode("utf-8")).hexdigest()
    if method in SMS_SIGNATURE_METHODS:
        return hmac.new(secret.encode("utf-8"), data, method).hexdigest()
    raise ValueError(f"unknown SMS signature method {method!r}; one of: {', '.join(SMS_SIGNATURE_METHODS)}")


def verify_sms_signature(params: Mapping[str, Any], secret: str, *,
                         methods: tuple[str, ...] = SMS_SIGNATURE_METHODS, max_age: float = DEFAULT_MAX_AGE,
                         now: float | None = None) -> str:
    """Check an SMS API callback's ``sig`` and ``timestamp``; return the method that matched.

    Args:
        params: every parameter of the callback (query string and body together), ``sig`` included.
        secret: the account's signature secret.
        methods: the signature methods accepted (any of them by default: the dashboard setting is not known).
        max_age: the oldest ``timestamp`` accepted, in real seconds.
        now: the real wall-clock time to check against (defaults to ``time.time()``).

    Returns:
        The matching method, e.g. ``"sha256"``.

    Raises:
        SignatureError: when ``sig`` is missing or matches none of ``methods``, or ``timestamp`` is missing,
            not a number, too old or in the future.
    """
    given = params.get("sig")
    if not isinstance(given, str) or not given.strip():
        raise SignatureError("SMS callback has no sig parameter")
    given = given.strip().lower()
    matched = None
    for method in methods:  # every method is computed: the time taken does not say which one matched
        if hmac.compare_digest(given, sms_signature(params, secret, method)) and matched is None:
            matched = method
    if matched is None:
        raise SignatureError(f"sig matches none of the methods {', '.join(methods)} "
                             "(wrong signature secret or method?)")
    stamp = str(params.get("timestamp", "")).strip()
    if not stamp.isdigit():
        raise SignatureError("signed SMS callback has no numeric timestamp")
    _check_fresh("timestamp", int(stamp), max_age, now)
    return matched
