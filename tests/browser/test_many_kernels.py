"""Two notebooks open at once in JupyterLab, each with its own kernel, as a learner works: 04 in one tab, 05 in
another, then back to 04. Both kernels share the project's one sandbox, so 04's next send is accepted (202) and
04 follows its failover to the final report, which reaches 04 exactly once.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.lab import Lab, run_new_cell, screenshot, wait_for_kernel_idle
from tests.browser.test_notebooks import run_notebook

FOUR = "04-send-a-facebook-message-with-failover.ipynb"
FIVE = "05-messages-api-failover.ipynb"


def test_04_sends_again_after_05_ran_in_another_tab(lab: Lab, page: Page):
    run_notebook(page, lab, FOUR)  # the first tab: Run All sends its dispatches
    run_notebook(page, lab, FIVE)  # a second tab, a second kernel: Run All there too
    kernels = {s["path"]: s["kernel"]["id"] for s in lab.api("GET", "/api/sessions") or []}
    assert set(kernels) == {FOUR, FIVE} and len(set(kernels.values())) == 2, kernels

    # Back to 04's tab: its kernel kept its session (tut, body) while 05 ran.
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(r"^04-send")).click()
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")).to_be_visible()
    wait_for_kernel_idle(page)
    cell = run_new_cell(page, 'again = tut.send("POST", "/v0.1/dispatch", body)\n'
                              'reports = tut.receiver.events("final_report", dispatch_uuid=again.dispatch_uuid)\n'
                              'again.status, again.final_report["status"], len(reports)')
    expect(cell.locator(".jp-OutputArea-output")).to_contain_text("(202, 'completed', 1)")
    cell.scroll_into_view_if_needed()
    screenshot(page, "04-sends-again-after-05")
