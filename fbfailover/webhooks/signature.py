"""Verify a signed webhook: HS256 JWT in ``Authorization: Bearer``, ``payload_hash`` and ``iat`` freshness.

Vonage signs Messages and Dispatch webhooks with the account's *signature secret* (HS256). The token's claims
carry ``iat`` (seconds), ``jti``, ``iss`` (``"Vonage"``), ``api_key``, ``application_id`` when an application
was used, and ``payload_hash``: the SHA-256 hex digest of the request body. Checking the signature alone
proves the token came from Vonage; comparing ``payload_hash`` with the body proves the body is the one that
was signed; checking ``iat`` stops an old request from being replayed.

``iat`` is always compared with the *real* wall clock. The sandbox runs a time-scaled simulated clock for
message timestamps, but it signs with real wall-clock ``iat`` so that a receiver behaves the same against
the sandbox and against Vonage.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import warnings
from collections.abc import Mapping
from typing import Any

import jwt

from fbfailover.errors import SignatureError  # defined with the rest of the error tree

__all__ = ["DEFAULT_MAX_AGE", "SignatureError", "payload_hash", "verify_signed_webhook"]

DEFAULT_MAX_AGE = 300.0
"""Oldest accepted ``iat``, in real seconds (Vonage retries for hours, but each retry is signed afresh)."""

CLOCK_SKEW = 60.0
"""How far in the future an ``iat`` may be before it is refused (clocks of two machines differ)."""


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
                          max_age: float = DEFAULT_MAX_AGE, now: float | None = None) -> dict[str, Any]:
    """Check a signed webhook and return its JWT claims.

    Args:
        authorization: the ``Authorization`` header value (``Bearer <JWT>``), or None.
        body: the exact request body bytes (parsed-and-reserialised JSON would not hash the same).
        secret: the account's signature secret.
        max_age: the oldest ``iat`` accepted, in real seconds.
        now: the real wall-clock time to check against (defaults to ``time.time()``).

    Returns:
        The verified claims.

    Raises:
        SignatureError: when the header is missing or malformed, the signature does not match the secret,
            ``payload_hash`` is missing or differs from the body's hash, or ``iat`` is missing, too old or in
            the future.
    """
    token = _token(authorization)
    try:
        with warnings.catch_warnings():
            # The receiver does not choose the secret's length; PyJWT warns about short HMAC keys.
            warnings.simplefilter("ignore")
            claims = jwt.decode(token, secret, algorithms=["HS256"],
                                options={"verify_iat": False, "verify_exp": True, "verify_nbf": True})
    except jwt.InvalidSignatureError as exc:
        raise SignatureError("signature does not match the signature secret (wrong secret?)") from exc
    except jwt.ExpiredSignatureError as exc:
        raise SignatureError("signed token has expired") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise SignatureError("webhook is not signed with HS256") from exc
    except jwt.PyJWTError as exc:
        raise SignatureError(f"Authorization token is not a valid JWT: {exc}") from exc
    if not isinstance(claims, Mapping):  # pragma: no cover - pyjwt always returns a dict
        raise SignatureError("JWT claims are not an object")
    expected = claims.get("payload_hash")
    if not isinstance(expected, str) or not expected:
        raise SignatureError("signed token has no payload_hash claim")
    if not hmac.compare_digest(expected.lower(), payload_hash(body)):
        raise SignatureError("payload_hash does not match the body (body changed after signing)")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise SignatureError("signed token has no numeric iat claim")
    current = time.time() if now is None else now
    if current - iat > max_age:
        raise SignatureError(f"stale iat: signed {current - iat:.0f} s ago "
                             f"(limit {max_age:.0f} s; replayed?)")
    if iat - current > CLOCK_SKEW:
        raise SignatureError(f"iat is {iat - current:.0f} s in the future (clock skew?)")
    return dict(claims)
