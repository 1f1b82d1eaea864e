"""Two notebooks open at once in JupyterLab, each with its own kernel, as a learner works: 04 in one tab, 05 in
another, then back to 04. Both kernels share the project's one sandbox, so 04's next send is accepted (202) and
04 follows its failover to the final report, which reaches 04 exactly once.

The second notebook is opened from the file browser of the page already open (as a learner does), not by loading
its URL: a reload would restore the first tab too, and the two would race to be the current one.
"""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.browser.lab import (
    DEFAULT_TIMEOUT,
    Lab,
    run_all,
    run_new_cell,
    screenshot,
    stderr_outputs,
    wait_for_kernel_idle,
    wait_until_executed,
)
from tests.browser.test_notebooks import RUN_TIMEOUT, run_notebook

FOUR = "04-send-a-facebook-message-with-failover.ipynb"
FIVE = "05-messages-api-failover.ipynb"


def _kernel_idle(lab: Lab, name: str) -> bool:
    sessions = {s["path"]: s["kernel"] for s in lab.api("GET", "/api/sessions") or []}
    return sessions.get(name, {}).get("execution_state") == "idle"


def show(page: Page, lab: Lab, name: str) -> None:
    """Make ``name``'s tab the current one and wait until the page and the server both say its kernel is idle."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name[:12]).first.click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(name[:12])
    expect(page.locator("#jp-main-statusbar")).to_contain_text(name)  # the status bar speaks of this notebook
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while not _kernel_idle(lab, name):
        assert time.monotonic() < deadline, f"{name}: its kernel is not idle"
        page.wait_for_timeout(100)
    wait_for_kernel_idle(page)


def test_04_sends_again_after_05_ran_in_another_tab(lab: Lab, page: Page):
    run_notebook(page, lab, FOUR)  # the first tab: Run All sends its dispatches

    # A second tab, a second kernel: 05 opened from the file browser, then Run All there.
    page.locator(".jp-DirListing-item", has_text=FIVE).dblclick()
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while FIVE not in {s["path"] for s in lab.api("GET", "/api/sessions") or []}:
        assert time.monotonic() < deadline, "05 did not get a kernel"
        page.wait_for_timeout(100)
    show(page, lab, FIVE)
    run_all(page)
    wait_until_executed(page, timeout=RUN_TIMEOUT)
    expect(stderr_outputs(page)).to_have_count(0)
    kernels = {s["path"]: s["kernel"]["id"] for s in lab.api("GET", "/api/sessions") or []}
    assert set(kernels) == {FOUR, FIVE} and len(set(kernels.values())) == 2, kernels

    # Back to 04's tab: its kernel kept its session (tut, body) while 05 ran.
    show(page, lab, FOUR)
    cell = run_new_cell(page, 'again = tut.send("POST", "/v0.1/dispatch", body)\n'
                              'reports = tut.receiver.events("final_report", dispatch_uuid=again.dispatch_uuid)\n'
                              'again.status, again.final_report["status"], len(reports)')
    expect(cell.locator(".jp-OutputArea-output")).to_contain_text("(202, 'completed', 1)")
    cell.scroll_into_view_if_needed()
    screenshot(page, "04-sends-again-after-05")
