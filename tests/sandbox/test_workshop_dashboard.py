"""The instructor's dashboard: the workshop token rule, and each account's steps, last error and last request."""

from __future__ import annotations

import time

import pytest
import requests

from fbfailover.sandbox.activity import STEPS, STUCK_AFTER_ERROR, STUCK_AFTER_IDLE, Activity
from fbfailover.sandbox.embedded import Sandbox
from fbfailover.sandbox.workshop_client import create_account
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, PAGE, PSID, SMS_TO, create_app, mint, post_dispatch
from tests.sandbox.test_workshop import DASHBOARD_TOKEN, TOKEN, Attendee

V1_FAILOVER = {
    "channel": "messenger",
    "message_type": "text",
    "to": PSID,
    "from": PAGE,
    "text": "hi",
    "failover": [{"channel": "sms", "message_type": "text", "to": SMS_TO, "from": "Vonage", "text": "hi"}],
}




def state(room: Sandbox) -> dict:
    response = requests.get(f"{room.url}/_sandbox/workshop/state", headers={"X-Dashboard-Token": DASHBOARD_TOKEN},
                            timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def row(snapshot: dict, api_key: str) -> dict:
    return next(account for account in snapshot["accounts"] if account["api_key"] == api_key)


def steps(snapshot: dict, api_key: str) -> set[str]:
    return {name for name, done in row(snapshot, api_key)["steps"].items() if done}


@pytest.mark.parametrize("path", ["/_sandbox/workshop", "/_sandbox/workshop/state", "/_sandbox/workshop/state.csv"])
def test_only_the_dashboard_token_opens_the_dashboard(room, path):
    url = f"{room.url}{path}"
    attendee = Attendee(room.url)
    for refused in (
        requests.get(url, timeout=10),
        requests.get(url, params={"token": "wrong"}, timeout=10),
        requests.get(url, headers={"X-Dashboard-Token": "wrong"}, timeout=10),
        requests.get(url, params={"token": TOKEN}, timeout=10),  # the join token every attendee has is not enough
        requests.get(url, headers={"X-Workshop-Token": TOKEN}, timeout=10),
        requests.get(url, headers={"X-Instructor-Token": DASHBOARD_TOKEN}, timeout=10),  # the old header is gone
        requests.get(url, auth=attendee.auth, timeout=10),  # an attendee's credentials are not enough
        requests.get(url, auth=(API_KEY, API_SECRET), timeout=10),  # nor the instructor's account's
    ):
        assert refused.status_code == 401
        assert refused.headers["Content-Type"].startswith("application/json")
        problem = refused.json()
        assert problem["title"] == "Unauthorised" and "token" in problem["detail"] and problem["instance"]
    by_query = requests.get(url, params={"token": DASHBOARD_TOKEN}, timeout=10)
    by_header = requests.get(url, headers={"X-Dashboard-Token": DASHBOARD_TOKEN}, timeout=10)
    for allowed in (by_query, by_header):
        assert allowed.status_code == 200
        assert allowed.headers["Cache-Control"] == "no-store"
        assert allowed.headers["Referrer-Policy"] == "no-referrer"
    if path.endswith("state"):
        assert by_query.json()["steps"] == list(STEPS)
    elif path.endswith(".csv"):
        assert by_query.headers["Content-Type"].startswith("text/csv")
        assert by_query.text.splitlines()[0].startswith("name,api_key,instructor,stuck,application,")
    else:
        assert by_query.headers["Content-Type"].startswith("text/html")
        page = by_query.text
        assert "Workshop dashboard" in page and "history.replaceState" in page
        assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no CDN
        assert TOKEN not in page and DASHBOARD_TOKEN not in page


@pytest.mark.parametrize("path", ["/_sandbox/workshop", "/_sandbox/workshop/state"])
def test_outside_workshop_mode_there_is_no_dashboard(sandbox, path):
    response = requests.get(f"{sandbox.url}{path}", params={"token": "x"}, headers={"X-Workshop-Token": "x"},
                            timeout=10)
    assert response.status_code == 404 and response.json()["title"] == "Not Found"


def test_the_state_follows_each_attendee(room, key_pair, collector):
    private, public = key_pair
    joined, finished, failing, v1, wrong = (Attendee(room.url) for _ in range(5))
    start = time.time()

    # finished: the whole tutorial, up to the final report (Messenger not read in time, so SMS)
    app = create_app(finished, public, collector.url)
    token = mint(app["id"], private)
    assert post_dispatch(finished, token).status_code == 202
    inbound = finished.control("POST", "inbound", json={"channel": "messenger", "application_id": app["id"]})
    assert inbound.status_code == 202
    # failing: a dispatch whose body does not validate
    failing_token = mint(create_app(failing, public, collector.url)["id"], private)
    bad = post_dispatch(failing, failing_token, body={"template": "failover", "workflow": []})
    assert bad.status_code == 400
    # v1: a v1 failover, then a v1 message that does not validate
    v1_token = mint(create_app(v1, public, collector.url)["id"], private)
    headers = {"Authorization": f"Bearer {v1_token}"}
    assert requests.post(f"{room.url}/v1/messages", json=V1_FAILOVER, headers=headers, timeout=10).status_code == 202
    invalid = requests.post(f"{room.url}/v1/messages", json={"channel": "messenger"}, headers=headers, timeout=10)
    assert invalid.status_code == 422
    # wrong: a real request of its own, then the right api_key with a wrong secret: refused, and the refusal is on
    # no row (naming an api_key proves nothing: anyone who read it off the dashboard could)
    wrong.control("GET", "recipients").raise_for_status()
    refused = requests.get(f"{room.url}/v2/applications", auth=(wrong.api_key, "not-the-secret"), timeout=10)
    assert refused.status_code == 401
    # only the instructor moves the shared clock: the dispatch fails over to SMS and ends
    moved = requests.post(f"{room.url}/_sandbox/clock/advance", json={"seconds": 700}, auth=(API_KEY, API_SECRET),
                          timeout=10)
    assert moved.status_code == 200 and moved.json()["fired"] >= 1
    end = time.time()

    snapshot = state(room)
    assert start - 1 <= snapshot["now"] and snapshot["now"] >= end
    keys = [account["api_key"] for account in snapshot["accounts"]]  # nobody is stuck yet: in the order they joined
    assert keys == [joined.api_key, finished.api_key, failing.api_key, v1.api_key, wrong.api_key, API_KEY]
    assert [account["instructor"] for account in snapshot["accounts"]] == [False] * 5 + [True]
    assert snapshot["summary"] == {"attendees": 5, "stuck": 0, "done": 0, "reached": {
        "application": 3, "jwt": 3, "inbound": 1, "dispatch": 1, "final_report": 1, "v1_failover": 1}}

    assert steps(snapshot, joined.api_key) == set()
    assert steps(snapshot, finished.api_key) == {"application", "jwt", "inbound", "dispatch", "final_report"}
    assert row(snapshot, finished.api_key)["final_status"] == "completed"
    assert row(snapshot, finished.api_key)["last_error"] is None
    assert steps(snapshot, failing.api_key) == {"application", "jwt"}
    assert row(snapshot, failing.api_key)["last_error"]["status"] == 400
    assert row(snapshot, failing.api_key)["last_error"]["title"] == "Your request parameters didn't validate."
    assert steps(snapshot, v1.api_key) == {"application", "jwt", "v1_failover"}
    assert row(snapshot, v1.api_key)["final_status"] is None
    assert {k: v for k, v in row(snapshot, v1.api_key)["last_error"].items() if k != "at"} == {
        "status": 422, "title": "Invalid params"
    }
    assert steps(snapshot, wrong.api_key) == set()
    assert row(snapshot, wrong.api_key)["last_error"] is None
    assert row(snapshot, wrong.api_key)["requests"] == 2  # joining and its own request: not the refused one

    for attendee in (joined, finished, failing, v1, wrong):
        seen = row(snapshot, attendee.api_key)
        assert start - 1 <= seen["last_request"] <= end + 1 and seen["requests"] >= 1
    assert row(snapshot, joined.api_key)["requests"] == 1  # joining is its only request
    times = row(snapshot, finished.api_key)["step_times"]
    assert times["application"] <= times["dispatch"] <= times["final_report"] and times["v1_failover"] is None
    # Reading the dashboard is no attendee's request.
    assert row(state(room), joined.api_key)["last_request"] == row(snapshot, joined.api_key)["last_request"]


def test_a_bad_jwt_counts_against_no_account(room, key_pair, other_key_pair, collector):
    """A token signed with another key proves nothing about the application it names: no row shows it."""
    attendee = Attendee(room.url)
    app = create_app(attendee, key_pair[1], collector.url)
    before = row(state(room), attendee.api_key)
    forged = mint(app["id"], other_key_pair[0])
    assert post_dispatch(attendee, forged).status_code == 401
    seen = row(state(room), attendee.api_key)
    assert seen["last_error"] is None and seen["requests"] == before["requests"]
    assert seen["steps"]["jwt"] is False


def test_activity_keeps_one_record_per_account_and_a_bound():
    ticks = iter(range(100))
    activity = Activity(limit=2, now=lambda: float(next(ticks)))
    activity.request(1, 200)
    activity.step(1, "application")
    activity.step(1, "application")  # the first time is kept
    activity.request(2, 401, "Unauthorised")
    activity.request(2, 202)  # a later success does not hide the last error
    assert activity.get(1).steps == {"application": 1.0}
    assert activity.get(2).last_error == {"status": 401, "title": "Unauthorised", "at": 3.0}
    assert activity.get(2).last_request == 4.0 and activity.get(2).requests == 2
    activity.step(3, "final_report", "error")
    assert len(activity) == 2 and activity.get(1) is None  # the least recently active is dropped
    assert activity.get(3).view()["final_status"] == "error"
    with pytest.raises(ValueError, match="unknown step"):
        activity.step(3, "lunch")


def test_an_attendee_names_themselves_and_the_name_is_checked(room):
    ada = create_account(room.url, TOKEN, name="  Ada   Lovelace ")
    assert row(state(room), ada.api_key)["name"] == "Ada Lovelace"  # spaces collapsed
    other = Attendee(room.url)
    assert row(state(room), other.api_key)["name"] is None
    renamed = other.control("PUT", "attendee", json={"name": "<b>Grace</b>"})
    assert renamed.status_code == 200 and renamed.json() == {"api_key": other.api_key, "name": "<b>Grace</b>"}
    assert row(state(room), other.api_key)["name"] == "<b>Grace</b>"  # kept as text: the page escapes it
    for bad, reason in (("", "empty"), ("x" * 41, "at most 40"), ("Ada\u202eevil", "printable"), (7, "string")):
        refused = other.control("PUT", "attendee", json={"name": bad})
        assert refused.status_code == 400 and reason in refused.json()["detail"]
        assert refused.json()["invalid_parameters"][0]["name"] == "name"
    bad_join = requests.post(f"{room.url}/_sandbox/accounts", json={"name": "\x00"},
                             headers={"X-Workshop-Token": TOKEN}, timeout=10)
    assert bad_join.status_code == 400  # and no account was made for it
    assert len(state(room)["accounts"]) == 3
    assert requests.put(f"{room.url}/_sandbox/attendee", json={"name": "Eve"}, timeout=10).status_code == 401
    assert row(state(room), other.api_key)["name"] == "<b>Grace</b>"


def test_failures_on_purpose_are_not_trouble(room, key_pair, collector):
    private, public = key_pair
    careful, careless = Attendee(room.url), Attendee(room.url)
    for attendee, marked in ((careful, {"X-Fbfailover-On-Purpose": "gallery"}), (careless, {})):
        app = create_app(attendee, public, collector.url)
        expired = mint(app["id"], private, iat=int(time.time()) - 120, exp=int(time.time()) - 60)
        refused = requests.post(f"{room.url}/v0.1/dispatch", json={}, timeout=10,
                                headers={"Authorization": f"Bearer {expired}", **marked})
        assert refused.status_code == 401
    snapshot = state(room)
    assert row(snapshot, careful.api_key)["last_error"] is None
    assert row(snapshot, careful.api_key)["last_on_purpose"]["why"] == "gallery"
    assert row(snapshot, careless.api_key)["last_error"]["status"] == 401


def test_stuck_means_an_error_not_followed_by_a_success_or_no_progress():
    clock = [1000.0]
    activity = Activity(now=lambda: clock[0])
    activity.joined(1, "on purpose")
    activity.request(1, 401, "Unauthorised", on_purpose="gallery")
    activity.joined(2, "failing")
    activity.request(2, 400, "Bad Request")
    activity.joined(3, "recovered")
    activity.request(3, 400, "Bad Request")
    clock[0] += 10
    activity.request(3, 202)
    activity.joined(4, "idle")
    activity.joined(5, "polling")
    clock[0] += STUCK_AFTER_ERROR
    activity.request(5, 200, api=False)  # the sandbox's own endpoints are no progress
    assert activity.get(1).stuck(clock[0]) is None
    assert activity.get(2).stuck(clock[0]) == "400 Bad Request for 3 min, no success since"
    assert activity.get(3).stuck(clock[0]) is None
    assert activity.get(4).stuck(clock[0]) is None
    clock[0] += STUCK_AFTER_IDLE
    assert activity.get(4).stuck(clock[0]) == "no progress for 13 min"
    assert activity.get(5).stuck(clock[0]) == "no progress for 13 min"
    assert activity.get(1).stuck(clock[0]) == "no progress for 13 min"  # on purpose is progress, but long ago
    for step in STEPS:
        activity.step(4, step)
    clock[0] += 2 * STUCK_AFTER_IDLE
    assert activity.get(4).stuck(clock[0]) is None and activity.get(4).view(clock[0])["done"] is True


def test_stuck_attendees_come_first_and_the_csv_keeps_every_row(room):
    from fbfailover.sandbox.handlers.workshop import room_csv, room_state

    first, second = create_account(room.url, TOKEN, name="=HYPERLINK(1)"), create_account(room.url, TOKEN, name="Bo")
    core = room.core
    second_id = core.accounts.by_key(second.api_key).id
    core.activity.request(second_id, 400, "Bad Request")
    later = time.time() + STUCK_AFTER_ERROR + 1
    snapshot = room_state(core, later)
    assert [r["api_key"] for r in snapshot["accounts"]][:2] == [second.api_key, first.api_key]
    assert snapshot["accounts"][0]["stuck"].startswith("400 Bad Request") and snapshot["summary"]["stuck"] == 1
    assert snapshot["accounts"][-1]["instructor"] and snapshot["accounts"][-1]["stuck"] is None
    lines = room_csv(snapshot).splitlines()
    assert len(lines) == 1 + len(snapshot["accounts"])
    assert lines[1].startswith("Bo,") and ",400 Bad Request," in lines[1]
    assert lines[2].startswith("'=HYPERLINK(1),")  # a spreadsheet shows it, never runs it
