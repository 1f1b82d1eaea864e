"""Notebook 04 in Jupyter Notebook 7's UI (``jupyter notebook``): Run All, then its widgets by clicking.

Notebook 7 is built on JupyterLab's application framework, so ``lab.py`` drives it the same way: the server runs
with ``--JupyterNotebookApp.expose_app_in_browser=True`` and the waits read the notebook's and kernel's models
through ``window.jupyterapp``; Run All and Clear Outputs are the same menu commands.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    NOTEBOOKS,
    _read_log,
    _server_environment,
    _start,
    _stop,
    stop_project_sandbox_of,
)
from tests.browser.lab import Lab, screenshot, widget, widget_input
from tests.browser.test_notebooks import run_notebook
from tests.ports import free_port

NOTEBOOK = "04-send-a-facebook-message-with-failover.ipynb"


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A ``jupyter notebook`` server on a temp copy of the notebooks, with fresh Jupyter and tutorial folders."""
    base = tmp_path_factory.mktemp("jupyter-notebook")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    env = _server_environment(base)
    (base / "data").mkdir()
    log = base / "jupyter-notebook.log"
    token = secrets.token_hex(24)
    for _attempt in range(3):
        url = f"http://127.0.0.1:{free_port()}"
        command = [
            sys.executable, "-m", "jupyter", "notebook",
            "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={url.rsplit(':', 1)[1]}", "--port-retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ]  # fmt: skip
        process = _start(command, env, log, url, token)
        if process is not None:
            break
    else:
        pytest.fail(f"jupyter notebook exited before answering; log:\n{_read_log(log)}", pytrace=False)
    server = Lab(url=url, token=token, root=root, env_file=Path(env["FBFAILOVER_ENV_FILE"]),
                 data_dir=Path(env["FBFAILOVER_DATA_DIR"]), log=log, workspaces=base / "workspaces", ui="notebook")
    try:
        yield server
    finally:
        try:
            server.shutdown_kernels()
        finally:
            _stop(process)
            stop_project_sandbox_of(server)


def test_04_runs_in_notebook_7_with_its_widgets(notebook7: Lab, page: Page):
    assert dataclasses.asdict(notebook7)["ui"] == "notebook"
    run_notebook(page, notebook7, NOTEBOOK)
    assert "/notebooks/" in page.url and "/lab" not in page.url  # Notebook 7's own page, not JupyterLab's

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
