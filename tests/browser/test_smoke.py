"""Smoke test of the whole chain: JupyterLab server, kernel, widget manager, typing and clicking."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.lab import (
    Lab,
    open_notebook,
    run_all,
    screenshot,
    stderr_outputs,
    wait_until_executed,
    widget,
    widget_input,
)

REPO = Path(__file__).resolve().parents[2]

FORM_CELL = """\
import ipywidgets as widgets
from IPython.display import display

text = widgets.Text(placeholder="type something")
text.add_class("fbf-smoke-input")
button = widgets.Button(description="Shout")
button.add_class("fbf-smoke-button")
out = widgets.Output()
out.add_class("fbf-smoke-output")


def shout(_button):
    out.append_stdout(text.value.upper() + "\\n")


button.on_click(shout)
display(widgets.VBox([text, button, out]))
"""

# What the kernel sees: which Python runs it and which settings reach it.
ENVIRONMENT_CELL = """\
import json, os, sys
import ipywidgets as widgets
import fbfailover

seen = {
    "prefix": sys.prefix,
    "package": fbfailover.__file__,
    "env_file": os.environ.get("FBFAILOVER_ENV_FILE"),
    "data_dir": os.environ.get("FBFAILOVER_DATA_DIR"),
    "credentials": sorted(
        k for k in os.environ if k.startswith(("VONAGE_", "NEXMO_")) or k == "FBFAILOVER_SANDBOX_URL"
    ),
}
report = widgets.Textarea(json.dumps(seen, sort_keys=True))
report.add_class("fbf-smoke-environment")
report
"""


def test_a_widget_form_round_trips_through_the_kernel(lab: Lab, page: Page):
    lab.write_notebook("smoke.ipynb", FORM_CELL, ENVIRONMENT_CELL)

    open_notebook(page, lab, "smoke.ipynb", start_kernel=False)  # the page starts the kernel, as on a first open
    run_all(page)
    wait_until_executed(page)

    field = widget_input(page, "fbf-smoke-input")
    expect(field).to_be_visible()
    field.fill("hello facebook")
    widget(page, "fbf-smoke-button").click()
    expect(widget(page, "fbf-smoke-output").locator(".jp-OutputArea-output")).to_have_text("HELLO FACEBOOK")
    expect(stderr_outputs(page)).to_have_count(0)
    screenshot(page, "after-click")

    seen = json.loads(widget_input(page, "fbf-smoke-environment").input_value())
    assert seen["prefix"] == sys.prefix, "the kernel must run in the test's virtualenv"
    assert Path(seen["package"]).is_relative_to(REPO), "the kernel must import the repository's package"
    assert seen["env_file"] == str(lab.env_file)
    assert seen["data_dir"] == str(lab.data_dir)
    assert seen["credentials"] == []
