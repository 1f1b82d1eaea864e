"""A learner's mistake in a notebook cell is a sentence, not a traceback: fbfailover's errors render as a short block
in a real kernel (IPython asks the exception, ``_render_traceback_``), the full traceback is one ``%tb verbose``
away, and every other exception shows exactly as before. Nothing is installed in the kernel for this."""

from __future__ import annotations

import re

import pytest

from fbfailover.errors import ApiError, ValidationError
from tests.kernels import Kernel, kernel_env

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _error(kernel: Kernel, code: str) -> dict:
    outputs: list = []
    kernel.client.execute_interactive(code, output_hook=outputs.append, timeout=60, store_history=False)
    errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
    assert len(errors) == 1, outputs
    return {**errors[0], "text": ANSI.sub("", "\n".join(errors[0]["traceback"]))}


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    home = tmp_path_factory.mktemp("kernel")
    started = Kernel(home, kernel_env(home), "errors")
    yield started
    started.shutdown()


def test_a_builder_mistake_is_one_short_block_naming_the_field_and_the_fix(kernel):
    hooks = "[repr(__import__('sys').excepthook), repr(get_ipython().custom_exceptions)]"
    before = kernel.value(hooks)
    shown = _error(kernel, 'from fbfailover.payloads import sms_item\n\n'
                           'sms_item("+447700900000", "447700900001", "hi")')
    assert shown["ename"] == "ValidationError"
    assert shown["text"].splitlines() == [
        "ValidationError: nothing was sent; fix this field:",
        "    from.number: must be digits only in E.164 form without a leading '+'; use 447700900000",
        '  in this cell, line 3, calling sms_item(): sms_item("+447700900000", "447700900001", "hi")',
        "  (fbfailover's own error; the full traceback: run %tb verbose)",
    ]
    assert "Traceback" not in shown["text"] and "payloads.py" not in shown["text"]
    # Nothing was installed in the kernel: no exception hook, no custom exception handler.
    assert kernel.value(hooks) == before


def test_the_try_this_expiry_is_a_sentence_too(kernel):
    shown = _error(kernel, 'from fbfailover.payloads import failover_condition\n'
                           'failover_condition(expiry_time=10, condition_status="read")')
    assert "failover.expiry_time: must be a whole number of seconds between 15 and 86400" in shown["text"]
    assert len(shown["traceback"]) == 4


def test_the_full_traceback_is_there_on_request(kernel):
    _error(kernel, 'from fbfailover.payloads import sms_item\nsms_item("+447700900000", "447700900001", "hi")')
    full = _error(kernel, "%tb verbose")
    assert "Traceback (most recent call last)" in full["text"] and "payloads.py" in full["text"]
    again = _error(kernel, 'sms_item("+447700900000", "447700900001", "hi")')
    assert "Traceback" not in again["text"]  # %tb verbose changed the mode for that one call only


def test_other_exceptions_show_as_always(kernel):
    shown = _error(kernel, "1 / 0")
    assert shown["ename"] == "ZeroDivisionError" and "Traceback (most recent call last)" in shown["text"]


def test_the_block_outside_a_kernel():
    try:
        raise ApiError(400, title="Bad Request", detail="Found errors", method="POST", url="http://x/v0.1/dispatch",
                       invalid_parameters=[{"name": "workflow[0].to.id", "reason": "is required"}])
    except ApiError as exc:
        block = [ANSI.sub("", line) for line in exc._render_traceback_()]
    assert block[0] == "ApiError: the API answered 400 Bad Request"
    assert block[1:4] == ["    Found errors", "    workflow[0].to.id: is required",
                          "    (the request: POST http://x/v0.1/dispatch)"]
    # Raised here rather than by a call into fbfailover: no "in this cell" line.
    assert block[4:] == ["  (fbfailover's own error; the full traceback: run %tb verbose)"]
    several = ValidationError([{"name": "a", "reason": "x"}, {"name": "b", "reason": "y"}])
    assert ANSI.sub("", several._render_traceback_()[0]) == "ValidationError: nothing was sent; fix these fields:"
