"""One JSON Schema engine decides validity and words the errors: for any body, ``check()`` lists a problem exactly
when the engine refuses it, and every problem names a field (generated bodies, valid and broken, of every channel)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fbfailover.channels import CHANNELS
from fbfailover.sandbox.validation import _validator, check
from tests.strategies import (
    _dispatch_breakers,
    _v01_channel_breakers,
    _v01_like,
    _v1_channel_breakers,
    broken,
    dispatch_body,
    v1_body,
)

SCHEMAS = {
    "dispatch": ("dispatch.json", "dispatch", dispatch_body, _dispatch_breakers),
    "v0.1": ("dispatch.json", "message_v01", _v01_like, _v01_channel_breakers),
    "v1": ("messages_v1.json", "request", v1_body, _v1_channel_breakers),
}


def _cases() -> list:
    out = []
    for api, (resource, definition, valid, breakers) in SCHEMAS.items():
        for channel in CHANNELS:
            if (api == "dispatch" and not channel.in_dispatch) or (api == "v0.1" and not channel.v01_content) or (
                    api == "v1" and not channel.v1_name):
                continue
            body = st.one_of(valid(channel), broken(valid(channel), breakers(channel)))
            out.append(pytest.param(resource, definition, body, id=f"{api}-{channel.name}"))
    return out


@pytest.mark.parametrize(("resource", "definition", "bodies"), _cases())
def test_the_engine_that_accepts_is_the_one_that_explains(resource, definition, bodies):
    validator = _validator(resource, definition)

    @settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(bodies)
    def agree(body: dict) -> None:
        problems = check(resource, definition, body)
        assert (problems == []) == validator.is_valid(body), (body, problems)
        assert all(p["name"] and p["reason"] for p in problems)

    agree()
