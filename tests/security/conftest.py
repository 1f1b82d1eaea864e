"""Fixtures of the security tests: the sandbox tests' embedded sandbox and key pairs."""

from tests.sandbox.conftest import key_pair, other_key_pair, sandbox  # noqa: F401  (fixtures, used by name)
