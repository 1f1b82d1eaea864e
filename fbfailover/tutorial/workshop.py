"""Joining a sandbox someone else runs (``FBFAILOVER_SANDBOX_URL``), e.g. an instructor's at a workshop."""

from __future__ import annotations

from collections.abc import Mapping

from fbfailover.config import Settings
from fbfailover.errors import ConfigError

__all__ = ["join_shared_sandbox"]


def join_shared_sandbox(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """Return settings that use the shared sandbox at ``settings.sandbox_url`` with this learner's account.

    Raises:
        ConfigError: when no account credentials are set for the shared sandbox.
    """
    if settings.api_key and settings.api_secret:
        return settings.replace(api_url=settings.sandbox_url, rest_url=settings.sandbox_url)
    raise ConfigError(
        "FBFAILOVER_SANDBOX_URL is set but VONAGE_API_KEY / VONAGE_API_SECRET are not: put the credentials "
        "of your account on that sandbox in .env (see .env.example)")
