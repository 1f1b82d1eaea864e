"""Joining a sandbox someone else runs (``FBFAILOVER_SANDBOX_URL``), e.g. an instructor's at a workshop.

With credentials in the settings they are used as they are. Without them, the sandbox is asked for an account
of this learner's own (``POST /_sandbox/accounts`` with ``FBFAILOVER_WORKSHOP_TOKEN``) and its key, secret and
signature secret are saved in ``.env``, so every later notebook uses the same account. Saved credentials the
sandbox no longer knows (the instructor started over with a new database) are replaced the same way.

``FBFAILOVER_ATTENDEE_NAME`` is the name the instructor's dashboard shows: it is sent with a new account and
again each time a notebook joins (the dashboard keeps names in memory only). ``set_attendee_name`` checks a
name, saves it in ``.env`` and sends it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import requests

from fbfailover.config import Settings, explicit_env_file, load_settings, project_dir, update_env_file
from fbfailover.errors import ConfigError

__all__ = ["env_file_of", "join_shared_sandbox", "set_attendee_name"]


def env_file_of(settings: Settings, environ: Mapping[str, str]) -> Path:
    """The ``.env`` the tutorial reads and writes: ``FBFAILOVER_ENV_FILE``, the one found, or the project's."""
    return explicit_env_file(environ) or settings.env_file or project_dir() / ".env"


def join_shared_sandbox(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """Return settings that use the shared sandbox at ``settings.sandbox_url`` with this learner's account.

    Raises:
        ConfigError: when there are no credentials and the sandbox gives out no account (not reachable, not
            in workshop mode, or the workshop token is missing or wrong).
    """
    url = settings.sandbox_url
    assert url, "join_shared_sandbox needs settings.sandbox_url"
    has_account = bool(settings.api_key and settings.api_secret)
    if has_account and (not settings.workshop_token or _known(url, settings.api_key, settings.api_secret)):
        _send_name(settings)
        return _pointed(settings)
    path = env_file_of(settings, environ)
    with _locked(path):
        # Another kernel may have joined while this one waited for the lock: use its account.
        fresh = load_settings(environ, env_file=path) if path.is_file() else settings
        if fresh.api_key and fresh.api_secret and fresh.api_key != settings.api_key:
            _send_name(fresh)
            return _pointed(fresh)
        account = _new_account(url, settings.workshop_token, settings.attendee_name)
        update_env_file(
            {
                "VONAGE_API_KEY": account.api_key,
                "VONAGE_API_SECRET": account.api_secret,
                "VONAGE_SIGNATURE_SECRET": account.signature_secret,
            },
            path,
            environ=environ,
        )
    joined = load_settings(environ, env_file=path)
    if joined.api_key != account.api_key:  # the process environment overrides .env
        joined = joined.replace(
            api_key=account.api_key, api_secret=account.api_secret, signature_secret=account.signature_secret
        )
    return _pointed(joined)


def _pointed(settings: Settings) -> Settings:
    return settings.replace(api_url=settings.sandbox_url, rest_url=settings.sandbox_url)


def _send_name(settings: Settings) -> None:
    if settings.attendee_name and settings.sandbox_url and settings.api_key and settings.api_secret:
        from fbfailover.sandbox.workshop_client import set_display_name

        set_display_name(settings.sandbox_url, settings.api_key, settings.api_secret, settings.attendee_name)


def set_attendee_name(settings: Settings, name: str, environ: Mapping[str, str] | None = None) -> str:
    """Check ``name``, save it in ``.env`` as ``FBFAILOVER_ATTENDEE_NAME`` and send it to the shared sandbox.

    Args:
        settings: the session's settings (a shared sandbox's credentials, when there is one).
        name: the name to show on the instructor's dashboard.
        environ: the environment (to find the ``.env``); ``os.environ`` by default.

    Returns:
        The name as saved (spaces collapsed).

    Raises:
        ConfigError: when the name is empty, longer than 40 characters or not printable; nothing is saved then.
    """
    from fbfailover.config import check_attendee_name

    cleaned = check_attendee_name(name)
    environ = os.environ if environ is None else environ
    update_env_file({"FBFAILOVER_ATTENDEE_NAME": cleaned}, env_file_of(settings, environ), environ=environ)
    _send_name(settings.replace(attendee_name=cleaned))
    return cleaned


def _new_account(url: str, token: str | None, name: str | None = None):  # -> WorkshopAccount
    from fbfailover.sandbox.workshop_client import AccountError, create_account

    try:
        return create_account(url, token, name=name)
    except AccountError as exc:
        raise ConfigError(
            f"FBFAILOVER_SANDBOX_URL is set but VONAGE_API_KEY / VONAGE_API_SECRET are not, and {exc} "
            "(see .env.example)"
        ) from exc


def _known(url: str, api_key: str, api_secret: str) -> bool:
    """False only when the sandbox answers that it does not know these credentials (401)."""
    try:
        response = requests.get(f"{url}/_sandbox", auth=(api_key, api_secret), timeout=10)
    except requests.RequestException:
        return True  # unreachable: keep the credentials, the first real call will say what is wrong
    return response.status_code != 401


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise joins of kernels sharing one ``.env`` (each notebook runs in a kernel of its own)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock, the rare race only costs an unused account
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
