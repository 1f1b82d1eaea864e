"""Shared fixtures: one RSA key per session and an environment that never reaches the project's .env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fbfailover.keys import generate_private_key, public_pem, save_private_key

_SETTING_PREFIXES = ("VONAGE_", "NEXMO_", "FBFAILOVER_")
_SETTING_NAMES = ("FROM_NUMBER", "TO_NUMBER", "FB_SENDER_ID", "FB_RECIPIENT_ID")


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clear every fbfailover setting from the environment and point .env and data at a fresh folder."""
    for name in list(os.environ):
        if name.startswith(_SETTING_PREFIXES) or name in _SETTING_NAMES:
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("FBFAILOVER_ENV_FILE", str(home / ".env"))
    monkeypatch.setenv("FBFAILOVER_DATA_DIR", str(home / "data"))
    return home


@pytest.fixture(scope="session")
def rsa_key():
    """An RSA-2048 private key, generated once per test session."""
    return generate_private_key()


@pytest.fixture(scope="session")
def public_key(rsa_key) -> str:
    """The PEM public half of ``rsa_key``."""
    return public_pem(rsa_key)


@pytest.fixture
def key_file(rsa_key, tmp_path: Path) -> Path:
    """``rsa_key`` saved to a 0600 file in the test's temporary folder."""
    return save_private_key(rsa_key, tmp_path / "private.key")
