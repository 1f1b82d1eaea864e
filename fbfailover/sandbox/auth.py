"""Who is calling: application JWTs (RS256, verified with the application's public key) and Basic credentials.

JWT rules, as Vonage's authentication guide states them: ``application_id``, ``iat`` and ``jti`` (a unique id:
any non-empty string) are required; without ``exp`` a token lives 15 minutes from ``iat``; ``exp`` must be at
least 30 seconds and at most 24 hours after ``iat``; ``nbf``/``exp``/``iat`` get a small clock-skew allowance.
The times must be plain finite numbers of seconds in a sane range: ``NaN``, infinities, booleans, strings and
huge numbers make the token invalid, so no claim can make a token valid forever. Only RS256 is accepted:
``alg: none`` and every HMAC algorithm are refused, so a public key can never be used as an HMAC secret.
Token checks use real time (the learner's tokens are minted with the real clock), never simulated time.

An ``acl`` claim (``{"paths": {"/*/dispatch/**": {}, ...}}``) limits what the token may call. This is the
sandbox's assumption for Dispatch and Messages (Vonage documents ACL paths for its Client SDK APIs only; see the
README). A path matches when each ``/``-separated segment of the pattern matches (``*`` is one segment, ``**``
any number of them, zero included; ``*`` inside a segment stands for any characters) and, when the rule lists
``methods``, the method is one of them. Matching takes time linear in the pattern and the path, and an ``acl``
is bounded (``MAX_ACL_PATHS`` patterns of at most ``MAX_ACL_PATTERN`` characters): a hostile token cannot make
the check slow. A token without ``acl`` may call every path. Filters are not emulated.
"""

from __future__ import annotations

import binascii
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fbfailover.eventstream import basic_credentials

if TYPE_CHECKING:
    from .catalog import Account, Accounts, Catalog


__all__ = [
    "DEFAULT_LIFETIME",
    "LEEWAY",
    "MAX_ACL_PATHS",
    "MAX_ACL_PATTERN",
    "MAX_LIFETIME",
    "MIN_LIFETIME",
    "AccessDenied",
    "AuthError",
    "Authenticator",
    "acl_allows",
    "load_public_key",
]

DEFAULT_LIFETIME = 15 * 60
MAX_LIFETIME = 24 * 3600
#: ``exp`` must be at least this many seconds after ``iat`` (Vonage's authentication guide).
MIN_LIFETIME = 30
LEEWAY = 30
#: Claim times outside 0..MAX_TIME (the year 5138) are not times: the token is refused.
MAX_TIME = 10**11
#: Bounds of an ``acl`` claim: more patterns, or longer ones, make the token invalid.
MAX_ACL_PATHS = 64
MAX_ACL_PATTERN = 256
MAX_HEADER = 16 * 1024  # an application JWT is under 1 KB


class AuthError(Exception):
    """Raised when credentials are missing or wrong; ``scheme`` is ``bearer``, ``basic`` or ``none``."""

    def __init__(self, scheme: str, why: str, account_id: int | None = None):
        super().__init__(why)
        self.scheme = scheme
        self.why = why
        #: Set only when the credentials were proven to be an account's (a JWT whose signature verified but which
        #: expired, say): its refusal is then that account's doing. A refused secret or signature is no one's.
        self.account_id = account_id


class AccessDenied(AuthError):
    """Raised when a valid token's ``acl`` does not allow the method and path called (a 403, not a 401)."""

    def __init__(self, why: str, account_id: int | None = None):
        super().__init__("bearer", why, account_id)


def _segment_matches(pattern: str, segment: str) -> bool:
    """One path segment against one pattern segment, where ``*`` stands for any characters (linear time)."""
    if "*" not in pattern:
        return pattern == segment
    parts = pattern.split("*")
    first, last = parts[0], parts[-1]
    if len(first) + len(last) > len(segment) or not segment.startswith(first) or not segment.endswith(last):
        return False
    at, end = len(first), len(segment) - len(last)
    for part in parts[1:-1]:  # each middle part at its leftmost place: greedy is exact for ``*``-only patterns
        found = segment.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return True


def _path_matches(pattern: list[str], path: list[str]) -> bool:
    """Whether the path's segments match the pattern's (``**``: any number of segments, none included).

    The set of path positions the pattern can have reached is carried forward one pattern segment at a time, so
    the work is at most (pattern segments) x (path segments) segment comparisons, whatever the pattern.
    """
    reached = [True] + [False] * len(path)  # reached[j]: the pattern so far can have consumed path[:j]
    for head in pattern:
        if head == "**":
            first = reached.index(True) if True in reached else len(reached)
            reached = [j >= first for j in range(len(reached))]
        else:
            reached = [False] + [reached[j] and _segment_matches(head, path[j]) for j in range(len(path))]
        if not any(reached):
            return False
    return reached[-1]


def acl_allows(acl: dict[str, Any] | None, method: str, path: str) -> bool:
    """Whether an ``acl`` claim lets a token call ``method path``; no ``acl`` allows everything.

    Args:
        acl: the claim, ``{"paths": {pattern: rule}}`` (already checked to have that shape), or None.
        method: the HTTP method called.
        path: the URL path called, e.g. ``/v0.1/dispatch``.

    Returns:
        True when some pattern matches the path and its rule's ``methods`` (if any) hold the method.
    """
    if acl is None:
        return True
    parts = [p for p in path.split("/") if p]
    for pattern, rule in acl["paths"].items():
        if not _path_matches([p for p in pattern.split("/") if p], parts):
            continue
        methods = rule.get("methods") if isinstance(rule, dict) else None
        if not methods or method.upper() in {str(m).upper() for m in methods}:
            return True
    return False


def _acl_claim(claims: dict[str, Any]) -> dict[str, Any] | None:
    acl = claims.get("acl")
    if acl is None:
        return None
    paths = acl.get("paths") if isinstance(acl, dict) else None
    if not isinstance(paths, dict) or not all(isinstance(p, str) for p in paths):
        raise AuthError("bearer", 'acl is not {"paths": {"/pattern": {...}}}')
    if len(paths) > MAX_ACL_PATHS or any(len(p) > MAX_ACL_PATTERN for p in paths):
        raise AuthError("bearer", f"acl has more than {MAX_ACL_PATHS} paths or a path over {MAX_ACL_PATTERN} "
                                  "characters")
    return {"paths": paths}


def load_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parse a PEM RSA public key; raises ``ValueError`` for anything else."""
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("is not a PEM-encoded public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("must be an RSA public key")
    return key


def _time(value: Any) -> bool:
    """A claim time: an int or a finite float, 0..MAX_TIME (never NaN, an infinity, a boolean or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return 0 <= value <= MAX_TIME


class Authenticator:
    """Verifies credentials against the accounts and applications; caches parsed keys and verified tokens."""

    def __init__(self, accounts: Accounts, catalog: Catalog, *, now: Callable[[], float] = time.time,
                 cache_size: int = 4096):
        self.accounts = accounts
        self.catalog = catalog
        self.now = now
        self._keys: dict[str, tuple[str, rsa.RSAPublicKey]] = {}
        self._verified: OrderedDict[str, tuple[str, int, float, float | None, dict | None]] = OrderedDict()
        self._cache_size = cache_size
        catalog.on_application_change.append(self.forget)

    def forget(self, application_id: str) -> None:
        """Drop cached keys and tokens of an application that changed or was deleted (the catalog calls it)."""
        self._keys.pop(application_id, None)
        self._verified.clear()

    def _key(self, app: dict) -> rsa.RSAPublicKey:
        cached = self._keys.get(app["id"])
        if cached is None or cached[0] != app["public_key"]:
            cached = self._keys[app["id"]] = (app["public_key"], load_public_key(app["public_key"]))
        return cached[1]

    def authenticate(self, header: str | None, method: str = "", path: str = "") -> tuple[str, Account, str | None]:
        """``(scheme, account, application_id)`` from an ``Authorization`` header.

        Args:
            header: the request's ``Authorization`` header.
            method: the method called, for a JWT's ``acl`` (not checked when empty).
            path: the path called, for a JWT's ``acl`` (not checked when empty).

        Raises:
            AccessDenied: a valid JWT whose ``acl`` does not allow ``method path``.
            AuthError: missing or wrong credentials.
        """
        if not header:
            raise AuthError("none", "Request header 'Authorization' missing")
        if len(header) > MAX_HEADER:
            raise AuthError("none", f"Request header 'Authorization' longer than {MAX_HEADER} characters")
        scheme, _, credentials = header.strip().partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer":
            account, app_id = self.bearer(credentials, method, path)
            return "jwt", account, app_id
        if scheme == "basic":
            return "basic", self.basic(header), None
        raise AuthError("none", "unsupported authorization scheme")

    def basic(self, header: str | None) -> Account:
        """The account of an ``Authorization: Basic`` header (the whole header value).

        Raises:
            AuthError: not Basic, malformed, or a wrong api_key or api_secret.
        """
        if header and len(header) > MAX_HEADER:
            raise AuthError("basic", f"Request header 'Authorization' longer than {MAX_HEADER} characters")
        given = basic_credentials(header)
        if given is None:
            raise AuthError("basic", "send api_key:api_secret as Basic credentials")
        account = self.check_secret(*given)
        if account is None:
            raise AuthError("basic", "wrong api_key or api_secret")
        return account

    def check_secret(self, api_key: str | None, api_secret: str | None) -> Account | None:
        if not api_key or api_secret is None:
            return None
        account = self.accounts.by_key(api_key)
        if account is None or not hmac.compare_digest(account.api_secret.encode(), api_secret.encode()):
            return None
        return account

    def bearer(self, token: str, method: str = "", path: str = "") -> tuple[Account, str]:
        now = self.now()
        cached = self._verified.get(token)
        if cached is None:
            cached = self._verify(token)
            self._verified[token] = cached
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        app_id, account_id, exp, nbf, acl = cached
        if now > exp + LEEWAY:
            raise AuthError("bearer", "token expired", account_id)
        if nbf is not None and now + LEEWAY < nbf:
            raise AuthError("bearer", "token not valid yet", account_id)
        if app_id not in self._keys:  # deleted since it was verified
            self._verified.pop(token, None)
            raise AuthError("bearer", "unknown application")
        if path and not acl_allows(acl, method, path):
            allowed = ", ".join(acl["paths"]) if acl else ""
            raise AccessDenied(f"the token's acl does not allow {method.upper()} {path} (it allows: {allowed})",
                               account_id)
        return self.accounts.by_id(account_id), app_id

    def _verify(self, token: str) -> tuple[str, int, float, float | None, dict | None]:
        try:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
            header, claims = unverified["header"], unverified["payload"]
        except jwt.PyJWTError as exc:
            raise AuthError("bearer", "not a JWT") from exc
        if header.get("alg") != "RS256":
            raise AuthError("bearer", f"algorithm {header.get('alg')!r} refused: only RS256 is accepted")
        app_id = claims.get("application_id")
        if not isinstance(app_id, str):
            raise AuthError("bearer", "application_id claim missing")
        app = self.catalog.application(app_id)
        if app is None:
            raise AuthError("bearer", "unknown application")
        try:
            jwt.decode(
                token,
                self._key(app),
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError("bearer", "bad signature") from exc
        owner = app["account_id"]  # the signature verified: what follows is that account's own doing
        iat, exp, nbf, jti = claims.get("iat"), claims.get("exp"), claims.get("nbf"), claims.get("jti")
        if not _time(iat):
            raise AuthError("bearer", "iat is missing or not a time in seconds", owner)
        if not isinstance(jti, str) or not jti:
            raise AuthError("bearer", "jti claim missing", owner)
        if exp is None:
            exp = iat + DEFAULT_LIFETIME
        elif not _time(exp):
            raise AuthError("bearer", "exp is not a time in seconds", owner)
        elif exp - iat > MAX_LIFETIME:
            raise AuthError("bearer", "exp more than 24 hours after iat", owner)
        elif exp - iat < MIN_LIFETIME:
            raise AuthError("bearer", f"exp less than {MIN_LIFETIME} seconds after iat", owner)
        if nbf is not None and not _time(nbf):
            raise AuthError("bearer", "nbf is not a time in seconds", owner)
        if iat > self.now() + LEEWAY:
            raise AuthError("bearer", "iat in the future", owner)
        try:
            acl = _acl_claim(claims)
        except AuthError as exc:
            raise AuthError("bearer", exc.why, owner) from exc
        return app_id, owner, float(exp), (float(nbf) if nbf is not None else None), acl
