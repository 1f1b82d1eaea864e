"""The instructor's workshop dashboard in Chromium: rows appear and update live while attendees work."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from fbfailover.sandbox.embedded import Sandbox
from tests.browser.lab import screenshot
from tests.sandbox.sandbox_helpers import create_app, mint, post_dispatch
from tests.sandbox.test_workshop import TOKEN, Attendee


def row(page: Page, attendee: Attendee):
    return page.locator(f'#rows tr[data-api-key="{attendee.api_key}"]')


def test_the_dashboard_follows_the_room_without_reloading(room: Sandbox, page: Page):
    first, second = Attendee(room.url), Attendee(room.url)
    page.goto(f"{room.url}/_sandbox/workshop?token={TOKEN}")
    expect(page).to_have_url(re.compile(r"/_sandbox/workshop$"))  # the token left the address bar
    expect(page.locator("#rows tr")).to_have_count(3)  # the instructor, then the two attendees
    expect(page.locator("#rows tr").first).to_contain_text("instructor")
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
    wrong = requests.get(f"{room.url}/v2/applications", auth=(first.api_key, "wrong"), timeout=10)
    assert wrong.status_code == 401
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
