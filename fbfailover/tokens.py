"""Application JWTs (RS256) for Vonage, a decoder for showing them, and the Basic auth header.

Vonage expects ``{"alg": "RS256", "typ": "JWT"}`` and the claims ``application_id``, ``iat`` and ``jti``;
``exp`` is optional (the API assumes 15 minutes); when given it must be at least 30 seconds and at most 24 hours
after ``iat`` (Vonage's authentication guide), so ``mint_application_jwt`` refuses any other lifetime.

Tokens are signed by pyjwt's ``jwt.encode``. Parsing a PEM key costs far more than signing with it, so a
key given as PEM or as a path is loaded once and the key *object* is cached (a path is re-read when its
modification time or size changes); pyjwt takes the object as is, which keeps minting within a few percent
of raw RSA signing.
"""

from __future__ import annotations

import base64
import functools
import os
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import TokenError
from .keys import is_pem, key_not_found, load_private_key

__all__ = ["MAX_TTL", "MIN_TTL", "basic_auth_header", "decode_for_display", "mint_application_jwt",
           "verify_application_jwt"]

MAX_TTL = 86_400
MIN_TTL = 30
_HEADERS = {"typ": "JWT"}  # with algorithm="RS256" pyjwt writes {"alg":"RS256","typ":"JWT"}, as Vonage expects
KeyLike = rsa.RSAPrivateKey | str | bytes | os.PathLike


@functools.lru_cache(maxsize=8)
def _key_from_pem(pem: bytes) -> rsa.RSAPrivateKey:
    return load_private_key(pem)


@functools.lru_cache(maxsize=8)
def _key_from_file(path: str, mtime_ns: int, size: int) -> rsa.RSAPrivateKey:
    # mtime and size are part of the cache key so a rewritten key file is picked up.
    return load_private_key(path)


def _resolve_key(private_key: KeyLike) -> rsa.RSAPrivateKey:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key
    if is_pem(private_key):
        pem = private_key.encode("ascii", "replace") if isinstance(private_key, str) else private_key
        return _key_from_pem(pem)  # keyed by bytes: one cache entry whether the PEM came as str or bytes
    path = Path(os.fsdecode(private_key)).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise key_not_found(path) from exc
    return _key_from_file(str(path.resolve()), st.st_mtime_ns, st.st_size)


def _epoch(value: float | datetime, name: str) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenError(f"{name} must be seconds since the epoch or a datetime, got {value!r}")
    return int(value)


def mint_application_jwt(application_id: str, private_key: KeyLike, *, ttl: int | None = 900,
                         now: float | datetime | None = None, jti: str | None = None,
                         nbf: float | datetime | None = None, sub: str | None = None,
                         acl: Mapping[str, Any] | None = None,
                         claims: Mapping[str, Any] | None = None) -> str:
    """Mint an RS256 JWT that authenticates API calls as a Vonage application.

    Args:
        application_id: the application's id (claim ``application_id``).
        private_key: an RSA key object, a key file path, or PEM text.
        ttl: lifetime in seconds, 30..86400 (``exp = iat + ttl``; Vonage refuses a token that lives less than
            30 s or more than 24 h); None leaves out ``exp`` as nexmo-cli did (the API then allows 15 minutes).
        now: the issue time (epoch seconds or datetime); the current time by default.
        jti: the token id; a random UUID4 by default.
        nbf: optional "not before" time.
        sub: optional subject (a Client SDK user name).
        acl: optional access list, ``{"paths": {...}}`` or just the paths mapping.
        claims: extra claims, merged last (so a test can override the standard ones on purpose).

    Returns:
        The compact token ``header.claims.signature``.

    Raises:
        TokenError: bad application id, lifetime, times or ACL.
        KeyFileError: the key cannot be loaded (KeyNotFoundError, EncryptedKeyError, NotAKeyError).
    """
    if not isinstance(application_id, str) or not application_id.strip():
        raise TokenError("application_id is required to mint a JWT (set VONAGE_APPLICATION_ID)")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL):
        raise TokenError(f"ttl must be a whole number of seconds from {MIN_TTL} s to 24 h ({MAX_TTL} s): Vonage "
                         f"refuses a token that lives less than {MIN_TTL} s or more than 24 h; got {ttl!r}")
    key = _resolve_key(private_key)
    iat = _epoch(datetime.now(timezone.utc) if now is None else now, "now")
    body: dict[str, Any] = {"application_id": application_id, "iat": iat, "jti": jti or str(uuid.uuid4())}
    if ttl is not None:
        body["exp"] = iat + ttl
    if nbf is not None:
        body["nbf"] = _epoch(nbf, "nbf")
    if sub is not None:
        body["sub"] = sub
    if acl is not None:
        if not isinstance(acl, Mapping):
            raise TokenError('acl must be a mapping such as {"paths": {"/*/users/**": {}}}')
        body["acl"] = dict(acl) if "paths" in acl else {"paths": dict(acl)}
    if claims:
        body.update(claims)
    try:
        return jwt.encode(body, key, algorithm="RS256", headers=_HEADERS)
    except TypeError as exc:  # a claim that is not a JSON value, or an "iss" that is not a string
        raise TokenError(f"claims must be JSON values: {exc}") from exc


def _when(epoch: Any) -> str | None:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)):
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def decode_for_display(token: str) -> dict[str, Any]:
    """Decode a JWT to look at it, WITHOUT checking its signature.

    Args:
        token: a compact JWT.

    Returns:
        ``{"header", "claims", "verified": False, "note", "times"}``; ``times`` maps iat/nbf/exp to readable
        UTC times and ``lifetime_seconds`` to exp - iat when both are present.

    Raises:
        TokenError: when the text is not a JWT.
    """
    token = token.strip() if isinstance(token, str) else token
    if not isinstance(token, str) or token.count(".") != 2:
        raise TokenError("not a JWT: expected three base64url parts separated by dots")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"not a readable JWT: {exc}") from exc
    times: dict[str, Any] = {k: _when(claims[k]) for k in ("iat", "nbf", "exp") if k in claims}
    if isinstance(claims.get("exp"), int) and isinstance(claims.get("iat"), int):
        times["lifetime_seconds"] = claims["exp"] - claims["iat"]
    return {"header": header, "claims": claims, "verified": False, "times": times,
            "note": "decoded only: the signature was NOT verified "
                    "(anyone can read a JWT; only the public key can prove who signed it)"}


def verify_application_jwt(token: str, public_key_pem: str | bytes | rsa.RSAPublicKey, *,
                           leeway: float = 30) -> dict[str, Any]:
    """Check a JWT's RS256 signature and times the way the API does, and return its claims.

    Args:
        token: a compact JWT.
        public_key_pem: the application's public key (PEM or key object).
        leeway: seconds of clock skew tolerated on ``exp``/``nbf``/``iat``.

    Returns:
        The verified claims.

    Raises:
        TokenError: bad signature, other algorithm, expired, not yet valid, missing claims, or an ``exp`` less
            than 30 s or more than 24 h after ``iat``.
    """
    try:
        claims = jwt.decode(token, public_key_pem, algorithms=["RS256"], leeway=leeway,
                            options={"require": ["application_id", "iat", "jti"]})
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"JWT rejected: {exc}") from exc
    iat, exp = claims.get("iat"), claims.get("exp")
    if exp is not None and not MIN_TTL <= exp - iat <= MAX_TTL:
        raise TokenError(f"JWT rejected: exp must be {MIN_TTL} s to 24 h after iat (it is {exp - iat} s)")
    return claims


def basic_auth_header(api_key: str, api_secret: str) -> str:
    """Return the ``Authorization`` header value for Basic auth with an API key and secret.

    Returns:
        ``"Basic " + base64("key:secret")``.
    """
    return "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode("ascii")
