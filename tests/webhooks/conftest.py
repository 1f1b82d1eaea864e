"""Fixtures for the webhook receiver tests: running receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fbfailover import webhooks
from tests.webhooks.webhook_helpers import SECRET


@pytest.fixture
def receiver() -> Iterator[webhooks.Receiver]:
    """A receiver without a signature secret."""
    with webhooks.Receiver() as r:
        yield r


@pytest.fixture
def signed_receiver() -> Iterator[webhooks.Receiver]:
    """A receiver verifying signatures with ``SECRET``."""
    with webhooks.Receiver(signature_secret=SECRET) as r:
        yield r
