"""Step 04's active parts in Jupyter Notebook 7's UI: the stepper after Run All, predict and compare, step the
clock to the deadline, solve an exercise, the form's inline check.

Learners open the notebooks in Notebook 7 as often as in JupyterLab, and ``test_notebooks.py`` already runs 04 in
JupyterLab, so this test runs it in Notebook 7: the session's server (with the ``notebook`` package installed)
serves its page at ``/notebooks/<name>``, the page ``jupyter notebook`` opens. Notebook 7 is built on JupyterLab's
application framework, so ``lab.py`` drives it the same way: with ``--JupyterNotebookApp.expose_app_in_browser``
the waits read the notebook's and kernel's models through ``window.jupyterapp``, and Run All, Clear Outputs and
"insert cell below" are the same commands.

Run All first (the notebook works alone: without step 02 it creates its application), then use the widgets by
clicking, and type into new cells at the end of the notebook as a learner would.
"""

from __future__ import annotations

import dataclasses

from playwright.sync_api import Page, expect

from tests.browser.lab import Lab, run_new_cell, screenshot, widget, widget_input
from tests.browser.test_notebooks import run_notebook

NOTEBOOK = "04-send-a-facebook-message-with-failover.ipynb"


def test_04_in_notebook_7_predict_step_the_clock_and_solve_an_exercise(lab: Lab, page: Page):
    run_notebook(page, dataclasses.replace(lab, ui="notebook"), NOTEBOOK)
    assert "/notebooks/" in page.url and "/lab" not in page.url
    assert page.evaluate("document.body.dataset.notebook") == "notebooks"  # Notebook 7's notebook page

    # After Run All the cells below the stepper have taken its dispatch to +600 s: the stepper says so, a step
    # back says where the clock stands and moves nothing, and the dispatch can start again from +0 s.
    stepper = widget(page, "fbf-clock").first
    view = stepper.locator(".fbf-clock-view")
    expect(view).to_contain_text("Simulated time: +600 s since the request")
    stepper.locator(".fbf-clock-step-2").click()  # to 599 s
    expect(view).to_contain_text("The clock already stands at +600 s since the request, past +599 s")
    expect(view).to_contain_text("nothing moved")
    stepper.scroll_into_view_if_needed()
    screenshot(page, "04-clock-refuses-to-go-back")
    stepper.locator(".fbf-clock-restart").click()
    expect(view).to_contain_text("Simulated time: +0 s since the request")
    stepper.locator(".fbf-clock-step-2").click()
    expect(view).to_contain_text("Simulated time: +599 s since the request")

    # Predict: pick (b) in the first question and press Check; the answer and its reason appear next to it.
    quiz = widget(page, "fbf-quiz").first
    quiz.locator(".fbf-quiz-choices label").filter(has_text="(b) Messenger at once, the SMS at the deadline").click()
    quiz.locator(".fbf-quiz-check").click()
    result = quiz.locator(".fbf-quiz-result")
    expect(result).to_contain_text("Your prediction (b) is recorded.")
    expect(result).not_to_contain_text("nobody read the Messenger message")  # no reveal before anything is sent
    quiz.scroll_into_view_if_needed()
    screenshot(page, "04-prediction")

    # The reveal comes from the run: compare the recorded prediction with what a new send produced.
    compared = run_new_cell(page, 'tut.sandbox.reset_recipients()\nq.compare(tut.send("POST", "/v0.1/dispatch", body))')
    expect(compared.locator(".fbfailover-panel")).to_contain_text("Your prediction (b) held.")
    expect(compared.locator(".fbfailover-panel")).to_contain_text("nobody read the Messenger message")

    # Step the clock: a fresh manual-clock sandbox; nothing at 599 s, the SMS at 600 s.
    cell = run_new_cell(page, "clock = tutorial.manual_clock(tut)\nclock.send(body)\nClockStepper(clock)")
    stepper = cell.locator(".fbf-clock")
    view = stepper.locator(".fbf-clock-view")
    expect(view).to_contain_text("+0 s since the request")
    stepper.locator(".fbf-clock-step-2").click()  # to 599 s
    expect(view).to_contain_text("Simulated time: +599 s since the request")
    expect(view).to_contain_text("messenger delivered")
    expect(view).not_to_contain_text("sms")
    stepper.locator(".fbf-clock-step-3").click()  # to the deadline
    expect(view).to_contain_text("Simulated time: +600 s since the request")
    expect(view).to_contain_text("sms submitted")
    stepper.scroll_into_view_if_needed()
    screenshot(page, "04-clock-at-the-deadline")

    # An exercise: a wrong attempt is told what is missing, the right one passes.
    wrong = run_new_cell(page, "exercise = tutorial.exercises.ends_in_error(tut)\ntut.sandbox.reset_recipients()\n"
                               "tut.send(\"POST\", \"/v0.1/dispatch\", body)\nexercise.check()")
    expect(wrong.locator(".fbfailover-panel")).to_contain_text("✗ Not yet: a workflow that ends in error")
    expect(wrong.locator(".fbfailover-panel")).to_contain_text("The last message, the SMS, was delivered")
    right = run_new_cell(page, "tut.sandbox.set_recipient(\"sms\", \"447700900001\", \"undeliverable\")\n"
                               "tut.send(\"POST\", \"/v0.1/dispatch\", body)\nexercise.check()")
    expect(right.locator(".fbfailover-panel")).to_contain_text("✓ Done: a workflow that ends in error")
    right.scroll_into_view_if_needed()
    screenshot(page, "04-exercise-solved")

    # The form's inline check, typed into its field: the fix shows next to it.
    error = widget(page, "fbf-failover-from_number-error")
    widget_input(page, "fbf-failover-from_number").fill("+447700900000")
    expect(error).to_contain_text("leading '+'")
