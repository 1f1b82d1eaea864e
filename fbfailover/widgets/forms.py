"""Forms for the tutorial's steps: a thin ipywidgets skin over ``fbfailover.tutorial``.

Every form is a ``VBox`` with a ``submit()`` that the next notebook cell can call (so the notebook runs
headless), and a button that calls the same ``submit()``. Problems show inline next to their field; results
and errors go to the form's ``Output`` with ``append_display_data`` (never ``print`` from a callback).
Every widget carries a CSS class (``fbf-<form>-<field>``) so browser tests find it without relying on text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from fbfailover.errors import FbfailoverError, ValidationError
from fbfailover.tokens import MAX_TTL, MIN_TTL
from fbfailover.tutorial import (
    DEFAULT_APP_NAME,
    Panel,
    Tutorial,
    create_or_reuse_application,
    mint_token,
    token_twins,
)
from fbfailover.validation import url_problem
from fbfailover.widgets.live import StaticFallback
from fbfailover.widgets.twins import TwinTabs

__all__ = ["ApplicationForm", "Form", "JwtForm"]

_ERROR_STYLE = "color:#b00020;font-size:12px"
_SHOWN = 72  # the longest value shown in a form's static form


class Form(StaticFallback, widgets.VBox):
    """Base form: named fields with an inline error line each, one button, an ``Output`` and ``submit()``."""

    prefix = "form"
    button_text = "Submit"

    def __init__(self, fields: Mapping[str, widgets.Widget],
                 checks: Mapping[str, Callable[[Any], str | None]] | None = None):
        self.fields = dict(fields)
        self.checks = dict(checks or {})
        self.errors = {name: widgets.HTML("") for name in self.fields}
        self.button = widgets.Button(description=self.button_text, button_style="primary")
        self.output = widgets.Output()
        self.result: Any = None
        rows = []
        for name, field in self.fields.items():
            field.add_class(f"fbf-{self.prefix}-{name}")
            self.errors[name].add_class(f"fbf-{self.prefix}-{name}-error")
            field.style.description_width = "160px"
            rows.append(widgets.HBox([field, self.errors[name]]))
            if name in self.checks:
                field.observe(lambda change, n=name: self.check_field(n), names="value")
        self.button.add_class(f"fbf-{self.prefix}-submit")
        self.output.add_class(f"fbf-{self.prefix}-output")
        super().__init__(children=[*rows, self.button, self.output])
        self.add_class(f"fbf-{self.prefix}")
        self.button.on_click(self._clicked)

    def values(self) -> dict[str, Any]:
        """The current value of every field."""
        return {name: field.value for name, field in self.fields.items()}

    def show_error(self, name: str, reason: str | None) -> None:
        """Show (or clear, with None) the inline problem of one field."""
        self.errors[name].value = f"<span style='{_ERROR_STYLE}'>⚠ {html.escape(reason)}</span>" if reason else ""

    def check_field(self, name: str) -> str | None:
        """Run the field's own check (as the learner types) and show the result inline."""
        reason = self.checks[name](self.fields[name].value) if name in self.checks else None
        self.show_error(name, reason)
        return reason

    def check(self) -> dict[str, str]:
        """Check every field; returns ``{field: reason}`` for those with a problem."""
        return {name: reason for name in self.checks if (reason := self.check_field(name))}

    def show(self, *items: Any) -> None:
        """Replace the output area's content with ``items`` (rich display)."""
        self.output.outputs = ()
        for item in items:
            self.output.append_display_data(item)

    def checked_values(self) -> dict[str, Any]:
        """The values, once every field passes its check; else the problems are shown and raised."""
        problems = self.check()
        if problems:
            raise self.refuse(problems)
        return self.values()

    def refuse(self, problems: Mapping[str, str]) -> ValidationError:
        """Show problems inline and return the ValidationError to raise (nothing has been sent)."""
        for name, reason in problems.items():
            if name in self.errors:
                self.show_error(name, reason)
        self.show(Panel("Nothing was sent: fix the fields marked ⚠", [(k, v) for k, v in problems.items()]))
        return ValidationError([{"name": k, "reason": v} for k, v in problems.items()])

    def _clicked(self, _button: Any = None) -> None:
        try:
            self.submit()
        except FbfailoverError as exc:  # validation is already inline; the rest goes to the output
            if not isinstance(exc, ValidationError):
                self.show(Panel(f"Error: {exc}", []))
        except Exception as exc:  # keep the form usable and the failure visible
            self.show(Panel(f"Unexpected error: {type(exc).__name__}: {exc}", []))

    def submit(self) -> Any:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        return f"{type(self).__name__}({shown})"

    def _shown_values(self) -> list[tuple[str, str]]:
        """``(field, value)`` as a reader without a kernel sees them: one line each, long values cut."""
        shown = []
        for name, value in self.values().items():
            text = " ".join(str(value).split()) if value not in (None, "") else "(empty)"
            shown.append((name, text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"))
        return shown

    def text(self) -> str:
        """The form as short lines (the ``text/plain`` of its display: never ipywidgets' cut repr)."""
        lines = [f"{type(self).__name__} (press {self.button_text!r} or call form.submit()):"]
        lines += [f"  {name}: {value}" for name, value in self._shown_values()]
        return "\n".join(lines)

    def html(self) -> str:
        """The form as a plain table of fields and values, for readers without a kernel (no inline styles)."""
        rows = "".join(f"<tr><th>{html.escape(name)}</th><td><code>{html.escape(value)}</code></td></tr>"
                       for name, value in self._shown_values())
        return (f"<div class='fbfailover-form-static'><b>{html.escape(type(self).__name__)}</b> "
                f"<i>(a form: in JupyterLab press {html.escape(self.button_text)}, or call form.submit())</i>"
                f"<table><thead><tr><th>field</th><th>value</th></tr></thead><tbody>{rows}</tbody></table></div>")

    def static_bundle(self) -> dict[str, str]:
        """A table and readable lines of the form, for GitHub, nbviewer and strict nbval."""
        return {"text/plain": self.text(), "text/html": self.html()}


def _text(description: str, value: str | None = "", width: str = "520px") -> widgets.Text:
    return widgets.Text(value=value or "", description=description, layout=widgets.Layout(width=width))


class ApplicationForm(Form):
    """Step 02: name, inbound and status URLs, who generates the key pair → Applications API v2."""

    prefix = "app"
    button_text = "Create"

    def __init__(self, tut: Tutorial, name: str = DEFAULT_APP_NAME):
        self.tut = tut
        receiver = tut.receiver
        super().__init__({
            "name": _text("Name", name),
            "inbound_url": _text("Inbound URL", receiver.inbound_url if receiver else ""),
            "status_url": _text("Status URL", receiver.status_url if receiver else ""),
            "keys": widgets.ToggleButtons(options=[("generate here", "local"), ("let the API generate", "api")],
                                          value="local", description="Key pair",
                                          style={"button_width": "auto"}),  # the whole label, never cut
        }, checks={"name": lambda v: None if v.strip() else "is required",
                   "inbound_url": url_problem, "status_url": url_problem})

    def submit(self) -> Panel:
        """Create (or reuse) the application with the values shown; returns the result panel.

        Raises:
            ValidationError: when a field is invalid (shown inline; nothing is sent).
        """
        v = self.checked_values()
        self.result = create_or_reuse_application(self.tut, v["name"].strip(), v["inbound_url"],
                                                  v["status_url"], key_source=v["keys"])
        self.show(self.result)
        return self.result


def _acl_problem(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if not isinstance(value, dict):
        return 'must be a JSON object such as {"paths": {"/*/messages/**": {}}}'
    return None


class JwtForm(Form):
    """Step 03: lifetime and optional ACL → an application JWT, decoded and verified."""

    prefix = "jwt"
    button_text = "Generate"

    def __init__(self, tut: Tutorial, ttl: int = 900, acl: str = ""):
        self.tut = tut
        super().__init__({
            "ttl": widgets.IntText(value=ttl, description="Lifetime (s)"),
            "acl": widgets.Textarea(value=acl, description="ACL (JSON)",
                                    placeholder='{"paths": {"/*/messages/**": {}}}',
                                    layout=widgets.Layout(width="520px")),
        }, checks={"ttl": lambda v: None if MIN_TTL <= v <= MAX_TTL else f"must be {MIN_TTL} s to 24 h ({MAX_TTL} s)",
                   "acl": _acl_problem})

    def submit(self) -> Panel:
        """Mint the token with the values shown and show it, then its twins (the same token minted outside the
        notebook: curl, Node, Python); returns the panel of header, claims and verification.

        Raises:
            ValidationError: when a field is invalid (shown inline).
        """
        v = self.checked_values()
        self.result = mint_token(self.tut, ttl=v["ttl"], acl=json.loads(v["acl"]) if v["acl"].strip() else None)
        self.twins = TwinTabs(token_twins(self.tut, self.result))
        self.show(self.result, self.twins)
        return self.result
