"""Fixtures of the security tests: the sandbox tests' embedded sandbox and key pairs, and a workshop room."""

import pytest

from tests.sandbox.conftest import key_pair, other_key_pair, sandbox  # noqa: F401  (fixtures, used by name)
from tests.sandbox.test_workshop import start_workshop


@pytest.fixture
def room():
    """A workshop served to a room of 4 accounts: not bound to loopback only, so loopback callbacks are refused.
    (``test_mailbox_forgery.py`` has a room of its own, with the default settings.)"""
    box = start_workshop(loopback_only=False, max_accounts=4)
    try:
        yield box
    finally:
        box.stop()
