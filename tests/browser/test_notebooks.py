"""Every tutorial notebook in JupyterLab: run all its cells, then use its form as a learner would.

The tests run in file order and share the session's tutorial environment (``.env`` and the sandbox's database,
both in temp folders), as a learner's steps do: 01 saves the Facebook ids and 02 the application that 03 to 05
reuse. Each test gets a fresh kernel; the kernels share the project's one background sandbox (started by the
first notebook in the session's data folder, stopped when the session ends), as a learner's notebooks do.

The tests share one JupyterLab page, as a learner keeps one open from step to step: the first loads JupyterLab, and
each next one opens its notebook from the file browser in place of the last (``switch_notebook``: the tabs close,
changes discarded, and their kernels end). ``TestFourAndFiveSideBySide`` keeps 04's tab open while 05 runs beside it.

Widgets are found by the ``fbf-*`` classes the forms set. Results are read from the ``fbfailover-panel`` tables
the tutorial's panels render: a row's ``<th>`` is its label and its ``<td>`` its value. What only the kernel
knows (the sandbox's URL, the receiver's event count, the last send's id) is asked for through a
scratch cell added at the end of the notebook in the page.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values
from playwright.sync_api import Locator, Page, expect

from tests.browser.lab import (
    Lab,
    in_kernel,
    notebook_problems,
    open_from_file_browser,
    run_all,
    run_new_cell,
    screenshot,
    show_tab,
    stderr_outputs,
    switch_notebook,
    wait_until_executed,
    widget,
    widget_input,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RUN_TIMEOUT = 60.0  # seconds for Run All: notebook 04 sends four workflows that each wait out their expiry
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def lab(jupyter_lab: Lab) -> Lab:
    """The session's server, not reset between this module's tests: ``run_notebook`` closes the notebooks before."""
    return jupyter_lab


@pytest.fixture
def page(kept_page: Page) -> Page:
    """One JupyterLab page for the whole module, as a learner keeps it open from step to step."""
    return kept_page


# --- helpers ------------------------------------------------------------------------------------


def run_notebook(page: Page, lab: Lab, name: str) -> None:
    """Opens ``name`` in place of the notebooks open in the page (``switch_notebook``; a new page loads JupyterLab
    first), runs every cell and checks that none wrote to stderr (tracebacks included).

    The cells' stderr is read from the notebook's model once the run has finished; the page is checked too, for
    stderr inside the widgets' own output areas.
    """
    switch_notebook(page, lab, name)
    run_all(page)
    wait_until_executed(page, timeout=RUN_TIMEOUT)
    assert notebook_problems(page) == []
    expect(stderr_outputs(page)).to_have_count(0)


def panels(scope: Locator, title: str | re.Pattern[str]) -> Locator:
    """The ``fbfailover-panel`` results inside ``scope`` whose title (their first text) starts with ``title``."""
    start = title if isinstance(title, re.Pattern) else re.compile(rf"^\s*{re.escape(title)}")
    return scope.locator(".fbfailover-panel").filter(has_text=start)


def value(panel: Locator, label: str) -> Locator:
    """The value cell of the panel's row labelled ``label`` (exactly)."""
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    return panel.locator("tr").filter(has=panel.page.locator("th", has_text=exact)).locator("td")


def rows(panel: Locator) -> list[tuple[str, str]]:
    """The panel's ``(label, value)`` rows, in order."""
    return [
        (row.locator("th").inner_text().strip(), row.locator("td").inner_text().strip())
        for row in panel.locator("tr").filter(has=panel.page.locator("th")).all()
    ]


def select(page: Page, css_class: str, label: str) -> None:
    """Chooses ``label`` in the ``Dropdown`` widget carrying ``css_class``."""
    widget(page, css_class).locator("select").select_option(label=label)


def tutorial_settings(lab: Lab, *names: str) -> dict[str, str]:
    """The settings the earlier steps saved to the session's ``.env``; fails clearly when one is missing."""
    saved = dotenv_values(lab.env_file) if lab.env_file.exists() else {}
    missing = [name for name in names if not saved.get(name)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not in {lab.env_file}: run this module as a whole (01 and 02 first)")
    return {name: saved[name] for name in names}


def sandbox_get(api_url: str, path: str) -> Any:
    """GETs ``path`` from the sandbox's control API (the primary account) and returns the decoded JSON."""
    with NO_PROXY.open(f"{api_url}{path}", timeout=10) as response:
        return json.loads(response.read())


def sandbox_activity(api_url: str) -> dict[str, int]:
    """What the sandbox has under way (timers, deliveries still to attempt) and how many deliveries it made."""
    return {
        "timers": sandbox_get(api_url, "/_sandbox/")["pending_timers"],
        "pending": sandbox_get(api_url, "/_sandbox/deliveries?status=pending&limit=5000")["count"],
        "deliveries": sandbox_get(api_url, "/_sandbox/deliveries?limit=5000")["count"],
    }


def wait_until_quiet(api_url: str, timeout: float = RUN_TIMEOUT) -> dict[str, int]:
    """Waits until the sandbox has nothing under way: no timer set, no delivery left to attempt.

    Then nothing more can reach the receiver until the next request. Returns ``sandbox_activity``.
    """
    deadline = time.monotonic() + timeout
    while True:
        activity = sandbox_activity(api_url)
        if activity["timers"] == 0 and activity["pending"] == 0:
            return activity
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sandbox is still busy after {timeout:.0f} s: {activity}")
        time.sleep(0.05)  # re-read the sandbox's state


# --- the notebooks, in tutorial order -----------------------------------------------------------


def test_00_start_here_runs_in_sandbox_mode(lab: Lab, page: Page):
    run_notebook(page, lab, "00-start-here.ipynb")

    prerequisites = panels(page.locator(".jp-OutputArea-output"), "Prerequisites")
    expect(prerequisites).to_have_count(1)
    expect(value(prerequisites, "mode")).to_have_text("sandbox")
    expect(value(prerequisites, "Python 3.10 or newer")).to_have_text("ok")
    prerequisites.scroll_into_view_if_needed()
    screenshot(page, "00-prerequisites")


def test_01_webhooks_learn_the_facebook_ids(lab: Lab, page: Page):
    run_notebook(page, lab, "01-configure-webhooks.ipynb")

    ids = tutorial_settings(lab, "FB_SENDER_ID", "FB_RECIPIENT_ID")
    inbound = panels(page.locator(".jp-OutputArea-output"), "Inbound Messenger message received")
    expect(inbound).to_have_count(1)
    expect(value(inbound, "from.id — the user's PSID → FB_RECIPIENT_ID")).to_have_text(ids["FB_RECIPIENT_ID"])
    expect(value(inbound, "to.id — your Page ID → FB_SENDER_ID")).to_have_text(ids["FB_SENDER_ID"])

    feed = page.locator(".fbfailover-event-feed")
    expect(feed).to_have_count(1)
    expect(feed).to_be_visible()
    expect(feed.locator("tbody tr").filter(has_text="inbound")).not_to_have_count(0)
    feed.scroll_into_view_if_needed()
    screenshot(page, "01-event-feed")


def test_02_the_application_form_creates_or_reuses_the_application(lab: Lab, page: Page):
    run_notebook(page, lab, "02-create-an-application.ipynb")

    output = widget(page, "fbf-app-output")
    name = "Browser test application"
    widget_input(page, "fbf-app-name").fill(name)
    widget(page, "fbf-app-submit").click()

    result = panels(output, re.compile(r"^\s*(Created|Reusing)"))
    expect(value(result, "name")).to_have_text(name)  # the click's result, not the cell's
    expect(result).to_contain_text("Reusing")  # the notebook's cells already created it
    app_id = value(result, "application id").inner_text().strip()
    assert UUID.fullmatch(app_id), app_id
    assert tutorial_settings(lab, "VONAGE_APPLICATION_ID")["VONAGE_APPLICATION_ID"] == app_id
    widget(page, "fbf-app").scroll_into_view_if_needed()
    screenshot(page, "02-application-form")


def test_03_the_jwt_form_decodes_the_token_and_refuses_a_bad_lifetime(lab: Lab, page: Page):
    app_id = tutorial_settings(lab, "VONAGE_APPLICATION_ID")["VONAGE_APPLICATION_ID"]
    run_notebook(page, lab, "03-generate-a-jwt.ipynb")

    output = widget(page, "fbf-jwt-output")
    ttl = widget_input(page, "fbf-jwt-ttl")
    error = widget(page, "fbf-jwt-ttl-error")
    expect(error).to_be_empty()  # the notebook's last cells put the lifetime back to a valid one
    ttl.fill("300")
    ttl.press("Tab")  # an IntText sends its value on change (blur or Enter)
    widget(page, "fbf-jwt-submit").click()

    token = panels(output, "Application JWT")
    expect(value(token, "lifetime")).to_have_text("300 s")
    expect(value(token, "signature")).to_contain_text("verified")
    claims = token.locator("pre").nth(1)  # header, then claims
    expect(claims).to_contain_text(f'"application_id": "{app_id}"')
    expect(claims).to_contain_text('"exp"')
    shows_twins(output, "--ttl 300", "ttl: 300", "now + 300", app_id)  # the token just minted, outside the notebook
    widget(page, "fbf-jwt").scroll_into_view_if_needed()
    screenshot(page, "03-token")

    # Over 24 hours: the inline error shows as soon as the field changes, and Generate refuses.
    ttl.fill("100000")
    ttl.press("Tab")
    expect(error).to_contain_text("must be 30 s to 24 h")
    widget(page, "fbf-jwt-submit").click()
    expect(panels(output, "Nothing was sent")).to_have_count(1)
    expect(panels(output, "Application JWT")).to_have_count(0)
    expect(output.locator(".fbf-twins-tabs")).to_have_count(0)
    expect(ttl).to_have_value("100000")  # kept as typed, for the learner to fix
    screenshot(page, "03-refused")


def shows_twins(output: Locator, *texts: str) -> None:
    """A form's output shows one set of twins as tabs (curl, Node, Python) holding each of ``texts``, and the Node
    tab opens on a click."""
    tabs = output.locator(".fbf-twins-tabs")
    expect(tabs).to_have_count(1)
    titles = tabs.locator(".lm-TabBar-tab")
    expect(titles).to_have_text(["curl", "Node", "Python"])
    for text in texts:
        expect(tabs).to_contain_text(text)
    titles.filter(has_text="Node").click()
    expect(tabs.locator(".lm-TabBar-tab.lm-mod-current")).to_have_text("Node")


def send_failover(page: Page, previous: str | None) -> tuple[Locator, str]:
    """Clicks Send on the failover form showing dispatch ``previous`` (None: nothing sent from it yet).

    Returns:
        The final report and the new dispatch id.
    """
    output = widget(page, "fbf-failover-output")
    sent = value(panels(output, "Workflow accepted"), "dispatch_uuid")
    # Widget updates reach the page after the kernel reports idle: wait until the form shows the latest send,
    # so that the click's result (which replaces it) cannot be mistaken for an earlier one still rendering.
    if previous is None:
        expect(sent).to_have_count(0)
    else:
        expect(sent).to_have_text(previous)
    widget(page, "fbf-failover-submit").click()
    if previous is None:
        expect(sent).to_have_count(1)
    else:
        expect(sent).not_to_have_text(previous)  # the feed below keeps listing the earlier dispatches
    report = panels(output, "Final report")
    expect(report).to_have_count(1)
    dispatch_id = value(panels(output, "Workflow accepted"), "dispatch_uuid").inner_text().strip()
    assert UUID.fullmatch(dispatch_id), dispatch_id
    assert dispatch_id != previous
    return report, dispatch_id


FOUR = "04-send-a-facebook-message-with-failover.ipynb"
FIVE = "05-messages-api-failover.ipynb"


def kept_tab(page: Page, name: str) -> bool:
    """Whether ``name`` is open in a tab of the page (JupyterLab loaded, its notebook panel there)."""
    return page.evaluate("(path) => Boolean(window.jupyterapp && Array.from(window.jupyterapp.shell.widgets('main'))"
                         ".some(w => w.context && w.context.path === path))", name)


class TestFourAndFiveSideBySide:
    """04 and 05 open at once, as a learner keeps them, in one page kept from test to test: 04 runs in one tab and
    its form is used; 05 opens beside it from the file browser, in a second tab with a second kernel, and runs; then,
    back in 04's tab, a new cell sends the same body again. Both kernels share the project's one sandbox, so that
    send answers 202 and 04 follows its failover to the final report, which reaches 04 exactly once. (With a sandbox
    per kernel it answered 503.) 05 is opened from the file browser, not by loading its URL: a reload would restore
    04's tab too, and the two would race to be the current one.
    """

    def test_04_the_failover_form_sends_follows_and_refuses(self, lab: Lab, page: Page):
        tutorial_settings(lab, "VONAGE_APPLICATION_ID", "FB_SENDER_ID", "FB_RECIPIENT_ID")
        run_notebook(page, lab, FOUR)
        output = widget(page, "fbf-failover-output")
        timeline = output.locator(".fbf-failover-timeline")
        feed = output.locator(".fbf-failover-feed")

        kernel = in_kernel(page, '{"api_url": tut.settings.api_url}')

        # Never read: the SMS goes out once the expiry time is over. (The notebook sends with tut.send; the form,
        # its shortcut, has sent nothing yet.)
        select(page, "fbf-failover-outcome", "never read (the default)")
        text = widget_input(page, "fbf-failover-text_messenger").input_value()
        report, dispatch_id = send_failover(page, None)
        shows_twins(output, "https://api.nexmo.com/v0.1/dispatch", "dispatch.create", text)
        expect(report).to_contain_text("Final report: completed")
        expect(value(report, "failed over to SMS")).to_have_text("yes")
        expect(value(report, "message 2 (sms)")).to_have_text("delivered")
        expect(timeline).to_contain_text(dispatch_id)
        expect(timeline).to_contain_text("completed")  # drawn up to the final report
        expect(timeline).to_contain_text("failover to sms")
        expect(feed).to_have_class(re.compile(r"\bfbfailover-event-feed\b"))
        expect(feed.locator("tbody tr").filter(has_text=dispatch_id)).not_to_have_count(0)
        expect(feed.locator("tbody tr").filter(has_text="status")).not_to_have_count(0)
        timeline.scroll_into_view_if_needed()
        screenshot(page, "04-failed-over")

        # Read in time: the workflow ends with the Messenger message; no SMS row.
        select(page, "fbf-failover-outcome", "reads in time")
        report, dispatch_id = send_failover(page, dispatch_id)
        expect(report).to_contain_text("Final report: completed")
        expect(value(report, "message 1 (messenger)")).to_have_text("read")
        expect(value(report, "failed over to SMS")).to_have_text("no")
        expect(timeline).to_contain_text(dispatch_id)
        expect(timeline).to_contain_text("completed")  # drawn up to the final report
        expect(timeline).not_to_contain_text("sms")
        timeline.scroll_into_view_if_needed()
        screenshot(page, "04-read-in-time")

        # A leading '+': the inline error says how to write it, and Send sends nothing. First the earlier sends finish
        # all they will do, so that whatever happens after the click is the click's doing.
        quiet = wait_until_quiet(kernel["api_url"])
        events_before = in_kernel(page, "len(tut.receiver.events())")
        error = widget(page, "fbf-failover-from_number-error")
        expect(error).to_be_empty()
        widget_input(page, "fbf-failover-from_number").fill("+447700900000")
        expect(error).to_contain_text("leading '+'")
        expect(error).to_contain_text("447700900000")
        expect(error).not_to_contain_text("+447700900000")
        widget(page, "fbf-failover-submit").click()
        refused = panels(output, "Nothing was sent")
        expect(refused).to_have_count(1)
        expect(value(refused, "from_number")).to_contain_text("leading '+'")
        expect(panels(output, "Workflow accepted")).to_have_count(0)
        expect(output.locator(".fbf-twins-tabs")).to_have_count(0)
        widget(page, "fbf-failover").scroll_into_view_if_needed()
        screenshot(page, "04-refused")
        # The scratch cell runs after the click's handler has returned (the kernel handles them in order). A request
        # sent anyway would have left the sandbox with a workflow under way (timers) or webhooks made.
        events_after = in_kernel(page, "len(tut.receiver.events())")
        assert sandbox_activity(kernel["api_url"]) == quiet, "the sandbox got a request from a refused send"
        assert events_after == events_before, "the receiver got events after a refused send"

    def test_05_the_v1_form_fails_over_when_messenger_rejects(self, lab: Lab, page: Page):
        tutorial_settings(lab, "VONAGE_APPLICATION_ID", "FB_SENDER_ID", "FB_RECIPIENT_ID")
        if kept_tab(page, FOUR):  # the class's order: 04's tab stays open, 05 opens beside it from the file browser
            open_from_file_browser(page, FIVE)
            run_all(page)
            wait_until_executed(page, timeout=RUN_TIMEOUT)
            assert notebook_problems(page) == []
            expect(stderr_outputs(page)).to_have_count(0)
        else:  # run alone
            run_notebook(page, lab, FIVE)
        output = widget(page, "fbf-v1-output")

        accepted = panels(output, "Message accepted")
        previous = in_kernel(page, "rejected.workflow_id")  # the notebook's own last send with failover
        expect(accepted).to_have_count(0)  # the form, a shortcut, has sent nothing yet (see send_failover)
        select(page, "fbf-v1-outcome", "Messenger rejects")
        widget(page, "fbf-v1-submit").click()
        expect(accepted).to_have_count(1)
        statuses = panels(output, "Messages API v1 statuses")
        expect(statuses).to_have_count(1)
        message_id = value(accepted, "message_uuid").inner_text().strip()
        assert UUID.fullmatch(message_id), message_id
        workflow_id = value(accepted, "workflow_id").inner_text().strip()
        assert workflow_id and workflow_id != previous, workflow_id

        seen = rows(statuses)
        assert ("message 1 (messenger)", "rejected") in seen, seen
        assert ("message 2 (sms)", "delivered") in seen, seen
        assert seen.index(("message 1 (messenger)", "rejected")) < seen.index(("message 2 (sms)", "delivered"))
        expect(output.locator(".fbf-v1-timeline")).to_contain_text(workflow_id)
        shows_twins(output, "https://api.nexmo.com/v1/messages", "@vonage/server-sdk", "failover=")
        statuses.scroll_into_view_if_needed()
        screenshot(page, "05-v1-rejected")

    def test_04_sends_again_after_05_ran_in_another_tab(self, lab: Lab, page: Page):
        assert kept_tab(page, FOUR) and kept_tab(page, FIVE), "run the class as a whole: 04's and 05's tabs first"
        kernels = {s["path"]: s["kernel"]["id"] for s in lab.api("GET", "/api/sessions") or []}
        assert set(kernels) == {FOUR, FIVE} and len(set(kernels.values())) == 2, kernels

        # Back to 04's tab: its kernel kept its session (tut, body) while 05 ran.
        show_tab(page, FOUR)
        cell = run_new_cell(page, 'again = tut.send("POST", "/v0.1/dispatch", body)\n'
                                  'reports = tut.receiver.events("final_report", dispatch_uuid=again.dispatch_uuid)\n'
                                  'again.status, again.final_report["status"], len(reports)')
        expect(cell.locator(".jp-OutputArea-output")).to_contain_text("(202, 'completed', 1)")
        cell.scroll_into_view_if_needed()
        screenshot(page, "04-sends-again-after-05")


GALLERY = [
    ("Refused (401): an expired JWT", "401"),
    ("Refused (401): a JWT signed with the wrong key", "401"),
    ("Refused (400): a wrong from.type", "400"),
    ("Refused (400): a missing failover condition", "400"),
    ("Refused (400): an SMS text that is too long", "400"),
    ("Refused (415): a form-encoded body", "415"),
    ("Refused (401): a JWT on the Applications API", "401"),
    ("Refused (400): an expiry of 10 seconds", "400"),
]


def test_06_the_gallery_shows_every_refusal_as_a_panel(lab: Lab, page: Page):
    run_notebook(page, lab, "06-when-things-go-wrong.ipynb")  # creates an application itself when run alone
    notebook = page.locator(".jp-Notebook")
    expect(panels(notebook, "Refused")).to_have_count(len(GALLERY))
    for title, status in GALLERY:
        panel = panels(notebook, title)
        expect(value(panel, "status")).to_have_text(status)
        expect(value(panel, "detail")).not_to_be_empty()
    expect(value(panels(notebook, "Refused (401): an expired JWT"), "checked locally")).to_contain_text(
        "Signature has expired")
    curl = panels(notebook, "Refused (415)").locator("details")
    curl.locator("summary").click()
    expect(curl.locator("pre")).to_contain_text("--data-urlencode")
    panels(notebook, "Refused (401): an expired JWT").scroll_into_view_if_needed()
    screenshot(page, "06-gallery")


def test_every_notebook_has_a_test_here():
    folder = Path(__file__).resolve().parents[2] / "notebooks"
    source = Path(__file__).read_text(encoding="utf-8")
    untested = [p.name for p in sorted(folder.glob("*.ipynb")) if f'"{p.name}"' not in source]
    assert untested == [], f"add a browser test for {untested}"
