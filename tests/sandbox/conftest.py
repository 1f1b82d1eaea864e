"""Fixtures of the sandbox tests: an embedded sandbox on a manual clock, a webhook collector, keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import tornado.web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fbfailover.background import serve
from fbfailover.sandbox import start
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, SIGNATURE_SECRET, Collector, Hit, create_app, mint


class _Hook(tornado.web.RequestHandler):
    def initialize(self, collector: Collector) -> None:
        self.collector = collector

    def get(self, path: str) -> None:
        """A URL check (account settings probe a callback URL before saving it): 200, nothing recorded."""
        self.finish()

    def post(self, path: str) -> None:
        code = self.collector.record(Hit("/" + path, dict(self.request.headers), self.request.body))
        self.set_status(code)
        self.finish()


@pytest.fixture
def collector() -> Iterator[Collector]:
    box = Collector()
    server = serve(tornado.web.Application([(r"/(.*)", _Hook, {"collector": box})], log_function=lambda h: None))
    box.url = server.url
    try:
        yield box
    finally:
        server.stop()


@pytest.fixture
def sandbox(tmp_path) -> Iterator:
    """An embedded sandbox on a database file (as learners run it) with a manual clock and known credentials."""
    box = start(
        db=tmp_path / "sandbox.sqlite3",
        clock="manual",
        api_key=API_KEY,
        api_secret=API_SECRET,
        signature_secret=SIGNATURE_SECRET,
    )
    try:
        yield box
    finally:
        box.stop()


def _pem_pair() -> tuple[str, str]:
    """A fresh RSA-2048 pair as (private PEM, public PEM), made with cryptography directly."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture(scope="session")
def key_pair() -> tuple[str, str]:
    """(private PEM, public PEM), generated once per session."""
    return _pem_pair()


@pytest.fixture(scope="session")
def other_key_pair() -> tuple[str, str]:
    """A second pair, for tokens signed with the wrong key."""
    return _pem_pair()


@pytest.fixture
def app_with_key(sandbox, collector, key_pair) -> dict:
    """An application whose webhooks go to the collector, with the session key; adds ``token``."""
    created = create_app(sandbox, key_pair[1], collector.url)
    created["private_key"] = key_pair[0]
    created["token"] = mint(created["id"], key_pair[0])
    return created
