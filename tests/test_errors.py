"""The error tree: every exception of the package is a FbfailoverError, and errors.py's drawing is the truth."""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import re
import textwrap

import pytest

import fbfailover
from fbfailover import errors

# Exceptions that never reach a caller: each is raised and caught inside one request of the sandbox's
# HTTP server, where it becomes an HTTP answer. Keyed by class name, as modules may move.
INTERNAL = {
    "Problem": "tornado's HTTPError carrying a problem-details body; the handler turns it into the answer",
    "AuthError": "the sandbox's authenticator raises it and its handlers answer 401 in each API's shape",
    "AccessDenied": "an AuthError for a valid JWT whose acl does not list the path; the handlers answer 403",
    "SaveError": "a failed group commit in the sandbox; its handlers answer 503 'Nothing was accepted'",
}


def _package_modules() -> list[str]:
    """Every importable module of fbfailover (``__main__`` modules run a command when imported)."""
    names = ["fbfailover"]
    for info in pkgutil.walk_packages(fbfailover.__path__, "fbfailover.", onerror=lambda name: None):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            names.append(info.name)
    modules = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # a module that cannot be imported here defines nothing we could check
            continue
        modules.append(name)
    return modules


def _defined_exceptions() -> dict[str, type[BaseException]]:
    """``module.qualname`` -> class, for every Exception subclass defined in the package."""
    found: dict[str, type[BaseException]] = {}
    for name in _package_modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_every_exception_of_the_package_is_a_fbfailover_error():
    found = _defined_exceptions()
    assert "fbfailover.errors.FbfailoverError" in found  # the walk did reach the modules
    stray = sorted(where for where, cls in found.items()
                   if not issubclass(cls, errors.FbfailoverError) and cls.__name__ not in INTERNAL)
    assert stray == [], "derive these from FbfailoverError (or the branch of the tree that fits)"


def test_the_internal_allow_list_names_real_classes():
    names = {cls.__name__ for cls in _defined_exceptions().values()}
    assert set(INTERNAL) <= names, "remove allow-list entries for classes that no longer exist"


# --- the drawing in errors.py's docstring ---------------------------------------------------------------
_LINE = re.compile(r"(?P<indent>(?:│   |    )*)(?P<branch>[├└]── )?(?P<name>[A-Z]\w*)(?:\((?P<extra>[^)]*)\))?")


def _drawn_tree() -> dict[str, tuple[str, ...]]:
    """Class name -> its parents as drawn: the tree parent first, then the names in parentheses."""
    doc = errors.__doc__ or ""
    block = doc.split("::", 1)[1].split("\n\n", 2)[1]  # the literal block after "::" and its blank line
    parents: dict[str, tuple[str, ...]] = {}
    path: list[str] = []  # path[d] is the latest class drawn at depth d
    for line in textwrap.dedent(block).splitlines():
        match = _LINE.match(line)
        assert match, f"not a line of the tree: {line!r}"
        depth = len(match["indent"]) // 4 + (1 if match["branch"] else 0)
        assert depth <= len(path), f"{match['name']} is drawn deeper than its parent"
        del path[depth:]
        extra = tuple(n.strip() for n in match["extra"].split(",")) if match["extra"] else ()
        parents[match["name"]] = ((path[-1],) if path else ("Exception",)) + extra
        path.append(match["name"])
    return parents


def _resolve(name: str) -> type:
    return getattr(errors, name, None) or getattr(builtins, name)


def test_the_drawn_tree_parses():
    drawn = _drawn_tree()
    assert drawn["FbfailoverError"] == ("Exception",)
    assert drawn["UncertainServerError"] == ("UncertainOutcomeError", "ServerError")
    assert drawn["KeyNotFoundError"] == ("KeyFileError", "FileNotFoundError")


def test_the_drawing_is_the_real_hierarchy():
    drawn = _drawn_tree()
    real = {name: cls for name, cls in vars(errors).items()
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls.__module__ == errors.__name__}
    assert set(drawn) == set(real), "draw every class of errors.py, and only those"
    for name, parents in drawn.items():
        assert real[name].__bases__ == tuple(_resolve(p) for p in parents), name


def test_every_class_of_the_tree_is_exported():
    classes = {name for name, cls in vars(errors).items()
               if isinstance(cls, type) and issubclass(cls, BaseException) and cls.__module__ == errors.__name__}
    assert classes <= set(errors.__all__)
    assert set(errors.__all__) <= set(fbfailover.__all__)


# --- behaviour of the newer branches --------------------------------------------------------------------
def test_sandbox_error_is_a_runtime_error():
    assert issubclass(errors.SandboxError, RuntimeError)
    with pytest.raises(errors.FbfailoverError, match="refused"):
        raise errors.SandboxError("the sandbox refused the control call")


def test_uncertain_server_error_is_a_server_error_with_one_line():
    err = errors.UncertainServerError(502, method="POST", url="http://127.0.0.1:1/v0.1/dispatch",
                                      title="Bad Gateway", check="watch the status webhooks for d-1",
                                      resource_id="d-1")
    assert isinstance(err, errors.ServerError) and isinstance(err, errors.UncertainOutcomeError)
    assert not isinstance(err, errors.TransportError)
    assert err.resource_id == "d-1" and err.status == 502
    assert str(err) == ("502 Bad Gateway [POST http://127.0.0.1:1/v0.1/dispatch] — the request may or may not "
                        "have been accepted; watch the status webhooks for d-1")


def test_uncertain_timeout_error_is_a_transport_error():
    err = errors.UncertainTransportError("no answer from http://x.test/v1/messages within 1 s", url="http://x.test")
    assert isinstance(err, errors.TransportError) and isinstance(err, ConnectionError)
    assert isinstance(err, errors.UncertainOutcomeError) and not isinstance(err, errors.ApiError)
    assert err.url == "http://x.test" and err.resource_id is None
    assert str(err).endswith("may or may not have been accepted; check before resending it")


@pytest.mark.parametrize(("retry_after", "tail"), [
    ("2", "try again in 2 s (Retry-After)"),
    ("Wed, 21 Oct 2026 07:28:00 GMT", "try again after Wed, 21 Oct 2026 07:28:00 GMT (Retry-After)"),
    (None, "wait a little and try again"),
    ("  ", "wait a little and try again"),
])
def test_rate_limit_error_says_when_to_try_again(retry_after, tail):
    err = errors.RateLimitError(429, title="Rate Limit Hit", retry_after=retry_after)
    assert str(err) == f"429 Rate Limit Hit — not accepted; {tail}"
    assert errors.error_for_status(429) is errors.RateLimitError
