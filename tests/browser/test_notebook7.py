"""Notebook 04 in Jupyter Notebook 7's UI: Run All, then its widgets by clicking.

The session's server runs with the ``notebook`` package installed, so besides JupyterLab (``/lab``) it serves Notebook
7's own UI at ``/notebooks/<name>``: the page ``jupyter notebook`` opens, one notebook per page with Notebook 7's menus
and toolbar. Notebook 7 is built on JupyterLab's application framework, so ``lab.py`` drives it the same way: with
``--JupyterNotebookApp.expose_app_in_browser=True`` the waits read the notebook's and kernel's models through
``window.jupyterapp``; Run All and Clear Outputs are the same menu commands.
"""

from __future__ import annotations

import dataclasses

from playwright.sync_api import Page, expect

from tests.browser.lab import Lab, screenshot, widget, widget_input
from tests.browser.test_notebooks import run_notebook

NOTEBOOK = "04-send-a-facebook-message-with-failover.ipynb"


def test_04_runs_in_notebook_7_with_its_widgets(lab: Lab, page: Page):
    notebook7 = dataclasses.replace(lab, ui="notebook")
    run_notebook(page, notebook7, NOTEBOOK)
    assert "/notebooks/" in page.url and "/lab" not in page.url  # Notebook 7's own page, not JupyterLab's
    expect(page.locator("#main-panel, .jp-NotebookPanel").first).to_be_visible()
    assert page.evaluate("document.body.dataset.notebook") == "notebooks"  # Notebook 7 marks its notebook page

    # The prediction: radio buttons and Record.
    quiz = widget(page, "fbf-quiz").first
    quiz.locator(".fbf-quiz-choices label").filter(has_text="(b) Messenger at once, the SMS at the deadline").click()
    quiz.locator(".fbf-quiz-check").click()
    expect(quiz.locator(".fbf-quiz-result")).to_contain_text("Your prediction (b) is recorded.")

    # The clock stepper: where the clock stands after Run All, a refused step back, a fresh start and a step.
    stepper = widget(page, "fbf-clock").first
    view = stepper.locator(".fbf-clock-view")
    expect(view).to_contain_text("Simulated time: +600 s since the request")
    stepper.locator(".fbf-clock-step-2").click()
    expect(view).to_contain_text("The clock already stands at +600 s since the request")
    stepper.locator(".fbf-clock-restart").click()
    expect(view).to_contain_text("Simulated time: +0 s since the request")
    stepper.locator(".fbf-clock-step-3").click()  # to the deadline: the SMS
    expect(view).to_contain_text("Simulated time: +600 s since the request")
    expect(view).to_contain_text("sms submitted")
    stepper.scroll_into_view_if_needed()
    screenshot(page, "04-in-notebook-7")

    # The form's inline check, typed into its field: the fix shows next to it.
    error = widget(page, "fbf-failover-from_number-error")
    widget_input(page, "fbf-failover-from_number").fill("+447700900000")
    expect(error).to_contain_text("leading '+'")
