"""The instructor's workshop dashboard in Chromium: rows appear and update live while attendees work, with their
names; the stuck come first, and failures on purpose are no trouble."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from playwright.sync_api import Page, expect

from fbfailover import tutorial
from fbfailover.sandbox.activity import STUCK_AFTER_ERROR
from fbfailover.sandbox.embedded import Sandbox
from fbfailover.tutorial import gallery
from tests.browser.lab import screenshot
from tests.sandbox.sandbox_helpers import create_app, mint, post_dispatch
from tests.sandbox.test_workshop import DASHBOARD_TOKEN, TOKEN, Attendee


def row(page: Page, attendee: Attendee):
    return page.locator(f'#rows tr[data-api-key="{attendee.api_key}"]')


def test_the_dashboard_follows_the_room_without_reloading(room: Sandbox, page: Page):
    first, second = Attendee(room.url), Attendee(room.url)
    page.goto(f"{room.url}/_sandbox/workshop?token={DASHBOARD_TOKEN}")
    expect(page).to_have_url(re.compile(r"/_sandbox/workshop$"))  # the token left the address bar
    expect(page.locator("#rows tr")).to_have_count(3)  # the two attendees, then the instructor
    expect(page.locator("#rows tr").last).to_contain_text("instructor")
    expect(page.locator("#status")).to_contain_text("live")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    # Steps tick as they happen.
    expect(row(page, first).locator("td.application")).to_have_class(re.compile(r"\bno\b"))
    app = create_app(first, None, None, name="first-app")
    expect(row(page, first).locator("td.application")).to_have_class(re.compile(r"\byes\b"))
    token = mint(app["id"], app["keys"]["private_key"])
    assert post_dispatch(first, token).status_code == 202
    expect(row(page, first).locator("td.dispatch")).to_have_text("\u2714")
    expect(row(page, first).locator("td.jwt")).to_have_class(re.compile(r"\byes\b"))
    expect(row(page, first).locator("td.last-request")).to_contain_text("s ago")

    # The last error shows with its status and title.
    other = create_app(second, None, None, name="second-app")
    bad = post_dispatch(second, mint(other["id"], other["keys"]["private_key"]), body={"workflow": []})
    assert bad.status_code == 400
    expect(row(page, second).locator("td.last-error")).to_have_text("400 Your request parameters didn't validate.")
    wrong = requests.get(f"{room.url}/v2/applications", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert wrong.status_code == 401  # a JWT of first's own application where Basic is needed: first's own error
    expect(row(page, first).locator("td.last-error")).to_have_text("401 Unauthorized")

    # A latecomer's row appears.
    late = Attendee(room.url)
    expect(row(page, late)).to_have_count(1)
    expect(page.locator("#summary")).to_contain_text("3 attendees")
    assert page.evaluate("window.loadedOnce") is True
    screenshot(page, "dashboard")
    page.locator("#size").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\blarge\b"))
    screenshot(page, "dashboard-large")


def test_the_dashboard_names_attendees_and_puts_the_stuck_first(room: Sandbox, page: Page, isolated_settings):
    # Ada joins as a notebook does, with her name in .env, and only fails on purpose (the failure gallery).
    (isolated_settings / ".env").write_text("FBFAILOVER_ATTENDEE_NAME=Ada\n")
    ada = tutorial.connect({"FBFAILOVER_ENV_FILE": str(isolated_settings / ".env"),
                            "FBFAILOVER_DATA_DIR": str(isolated_settings / "data"),
                            "FBFAILOVER_SANDBOX_URL": room.url, "FBFAILOVER_WORKSHOP_TOKEN": TOKEN})
    ada.start_receiver()  # the application's webhooks go to this attendee's mailbox stream
    try:
        tutorial.create_or_reuse_application(ada)
        assert gallery.bearer_on_applications(ada).status == 401
    finally:
        ada.receiver.stop()
    # Bo (a name that looks like markup) makes the same mistake by hand, unmarked: that is trouble.
    bo = Attendee(room.url)
    assert bo.control("PUT", "attendee", json={"name": "<i>Bo</i>"}).status_code == 200
    app = create_app(bo, None, None, name="bo-app")
    bearer = {"Authorization": f"Bearer {mint(app['id'], app['keys']['private_key'])}"}
    assert requests.get(f"{room.url}/v2/applications", headers=bearer, timeout=10).status_code == 401

    state = requests.get(f"{room.url}/_sandbox/workshop/state", headers={"X-Dashboard-Token": DASHBOARD_TOKEN},
                         timeout=10)
    assert [row["name"] for row in state.json()["accounts"]] == ["Ada", "<i>Bo</i>", None]  # the instructor last
    page.goto(f"{room.url}/_sandbox/workshop?token={DASHBOARD_TOKEN}")
    ada_row = page.locator(f'#rows tr[data-api-key="{ada.settings.api_key}"]')
    expect(ada_row.locator(".name")).to_have_text("Ada")
    expect(page.locator("#reached th[data-step='application']")).to_have_text("2 / 2")
    expect(page.locator("#summary")).to_contain_text("2 attendees, 0 stuck")

    # Three minutes on (the dashboard's clock is the sandbox's activity clock): Bo is stuck and comes first.
    real = room.core.activity.now
    room.core.activity.now = lambda: real() + STUCK_AFTER_ERROR + 1
    try:
        expect(page.locator("#summary")).to_contain_text("2 attendees, 1 stuck")
        first = page.locator("#rows tr").first
        expect(first).to_have_class(re.compile(r"\bstuck\b"))
        expect(first.locator(".name")).to_have_text("<i>Bo</i>")  # shown as text, never as markup
        expect(first.locator("i")).to_have_count(0)
        expect(first.locator("td.state")).to_contain_text("stuck: 401 Unauthorized")
        expect(ada_row).not_to_have_class(re.compile(r"\bstuck\b"))
        expect(ada_row.locator("td.state")).to_have_text("working")
        expect(ada_row.locator("td.last-error")).to_contain_text("on purpose (gallery): 401")
        screenshot(page, "dashboard-stuck")
        with page.expect_download() as download:
            page.locator("#csv").click()
        lines = Path(download.value.path()).read_text().splitlines()
        assert lines[1].startswith("<i>Bo</i>,") and lines[2].startswith("Ada,")
    finally:
        room.core.activity.now = real
