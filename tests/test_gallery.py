"""The failure gallery (notebook 06) and the checked exercises of steps 02 and 03, against a real sandbox."""

from __future__ import annotations

import time

import pytest

from fbfailover import tutorial
from fbfailover.errors import AuthenticationError, BadRequestError, UnsupportedMediaTypeError
from fbfailover.payloads import application_body
from fbfailover.tutorial import gallery, setup_exercises
from fbfailover.tutorial.checks import CheckResult, Exercise


@pytest.fixture
def tut(box, isolated_settings):
    session = tutorial.connect(sandbox=box)
    tutorial.ensure_application(session)
    for app in session.client.list_applications()["_embedded"]["applications"]:  # the sandbox serves the module
        if app["name"] == setup_exercises.STAGING_NAME:
            session.client.delete_application(app["id"])
    yield session
    session.receiver.stop()


GALLERY = {
    # function -> (status, error class, what the panel must name)
    "expired_jwt": (401, AuthenticationError, "Signature has expired"),
    "wrong_key_jwt": (401, AuthenticationError, "Signature verification failed"),
    "wrong_from_type": (400, BadRequestError, "workflow[0].from.type: must be one of"),
    "missing_failover": (400, BadRequestError, "workflow[0].failover: is required"),
    "sms_too_long": (400, BadRequestError, "workflow[1].message.content.text: must be at most 1000"),
    "form_encoded": (415, UnsupportedMediaTypeError, "Must be one of the following: 'application/json'"),
    "bearer_on_applications": (401, AuthenticationError, "You did not provide correct credentials."),
}


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_each_failure_is_sent_refused_and_shown(tut, box, name):
    status, cls, shown = GALLERY[name]
    failure = getattr(gallery, name)(tut)
    assert failure.refused and failure.status == status and type(failure.error) is cls
    text = repr(failure)
    assert text.startswith(f"Refused ({status}): ") and shown in text
    assert "  status: " in text and "  title: " in text and "  detail: " in text and "  invalid_parameters: " in text
    page = failure._repr_html_()
    assert "fbfailover-panel" in page and "the same request with curl" in page
    assert "$JWT" in page or "$VONAGE_API_KEY" in page  # credentials stay variables in the curl twin
    assert "eyJ" not in text + page  # no token is shown


def test_the_gallery_never_starts_a_dispatch(tut, box):
    before = len(box.deliveries())
    for name in GALLERY:
        getattr(gallery, name)(tut)
    box.advance(3600)  # whatever had been accepted would have sent its webhooks by now
    assert len(box.deliveries()) == before


def test_the_seed_workflow_carries_the_original_texts(tut):
    body = gallery.seed_workflow(tut)
    texts = [item["message"]["content"]["text"] for item in body["workflow"]]
    assert texts == ["This is a Facebook Messenger Message sent from the Dispatch API",
                     "This is an SMS sent from the Dispatch API"]


def test_try_request_shows_an_accepted_request_too(tut):
    shown = tutorial.try_request(tut, tut.client.request_for("list_applications", 1, 10), what="list")
    assert not shown.refused and shown.status is None
    assert repr(shown).startswith("Accepted: list") and "answer: " in repr(shown)


# --- exercises ----------------------------------------------------------------------------------


def test_exercise_shows_task_hints_and_solution():
    ex = setup_exercises.second_application(None)
    assert isinstance(ex, Exercise)
    assert "%load solutions/02_second_application.py" in repr(ex)
    assert repr(ex.hint(1)).startswith("Hint 1 of 3 (a second application) — exercise.hint(2)")
    assert "exercise.hint(" not in repr(ex.hint(3))
    with pytest.raises(ValueError, match="hints 1 to 3"):
        ex.hint(4)
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}


def _staging(tut, status_url):
    return tut.client.create_application(application_body(
        setup_exercises.STAGING_NAME, tut.receiver.inbound_url, status_url))


def test_second_application_check_explains_what_is_missing_then_passes(tut):
    ex = setup_exercises.second_application(tut)
    missing = ex.check()
    assert not missing and "no application named 'FB failover staging'" in repr(missing)
    _staging(tut, "https://example.com/webhooks/status")
    wrong = ex.check()
    assert not wrong
    assert "its status URL is https://example.com/webhooks/status" in wrong.title
    assert tut.receiver.status_url not in repr(wrong)  # what is wrong, never the answer
    _staging(tut, tut.receiver.status_url)
    done = ex.check()
    assert done and done.title.startswith("✓ Done: application ") and "(POST)" in repr(done)
    assert done._repr_mimebundle_()["text/plain"] == repr(done)


def test_second_application_check_does_not_count_the_first_one_renamed(tut):
    app_id = tut.settings.application_id
    tut.client.update_application(app_id, application_body(
        setup_exercises.STAGING_NAME, tut.receiver.inbound_url, tut.receiver.status_url))
    result = setup_exercises.second_application(tut).check()
    assert not result and "renamed" in result.title


def _token_living(tut, seconds: float, *, iat: int | None = None, key=None) -> str:
    import uuid

    import jwt

    from fbfailover.keys import load_private_key

    now = int(time.time()) if iat is None else iat
    claims = {"application_id": tut.settings.application_id, "iat": now, "jti": str(uuid.uuid4()),
              "exp": now + seconds}
    return jwt.encode(claims, key or load_private_key(tut.settings.private_key_path), algorithm="RS256")


@pytest.mark.parametrize(("seconds", "verdict"), [
    (30, "✓ Done: the shortest token Vonage accepts: 30 s"),
    (29, "✗ Not yet: the API refuses a token that lives 29 s"),
    (10, "✗ Not yet: the API refuses a token that lives 10 s"),
    (31, "✗ Not yet: accepted, but a token that lives 31 s is not the shortest"),
    (900, "✗ Not yet: accepted, but a token that lives 900 s is not the shortest"),
])
def test_shortest_token_check_asks_the_api(tut, seconds, verdict):
    result = setup_exercises.shortest_token(tut).check(_token_living(tut, seconds))
    assert result.title == verdict
    assert isinstance(result, CheckResult)
    assert "POST /v0.1/dispatch with an empty body: " in repr(result) and "unexpected" not in repr(result)
    if not result.ok:  # a failed check says what is wrong, never the answer
        assert "now + 30" not in repr(result)


def test_shortest_token_check_refuses_foreign_expired_and_non_tokens(tut):
    from fbfailover.keys import generate_private_key

    exercise = setup_exercises.shortest_token(tut)
    assert exercise.check(_token_living(tut, 30, key=generate_private_key())).title == (
        "✗ Not yet: the API refuses this token")
    assert exercise.check(_token_living(tut, 30, iat=int(time.time()) - 3600)).title == (
        "✗ Not yet: the token has expired")
    assert "not a JWT" in exercise.check("nonsense").title
    no_exp = tutorial.mint_token(tut, ttl=900)["token"]
    assert "no exp" not in exercise.check(no_exp).title


def test_the_second_user_exercise_passes_only_when_another_user_wrote_and_it_arrived(tut):
    from fbfailover.tutorial import setup_exercises

    tutorial.configure_account_webhooks(tut)
    tutorial.learn_facebook_ids(tut)
    exercise = setup_exercises.second_user(tut)
    assert not exercise.check().ok and "no user wrote" in repr(exercise.check())
    tut.sandbox.inbound("messenger", from_=tut.settings.fb_recipient_id, text="me again")
    assert "tutorial's own user" in repr(exercise.check())
    written = tut.sandbox.inbound("messenger", text="someone else")
    psid = written["from"]["id"]
    tut.receiver.wait_for("inbound", predicate=lambda e: e.sender_id == psid, timeout=10)
    result = exercise.check()
    assert result.ok and psid in result.verdict
    assert repr(exercise.hint()).startswith("Hint 1 of 2") and repr(exercise.hint()).startswith("Hint 2 of 2")


def test_a_user_writes_compactly_and_says_where_it_went_and_why(box, isolated_settings):
    session = tutorial.connect(sandbox=box)
    session.start_receiver()
    try:
        tutorial.configure_account_webhooks(session)
        tutorial.learn_facebook_ids(session)
        before = tutorial.user_writes(session, "Hi there")  # step 01: no application yet
        shown = repr(before)
        assert before.title == "A user wrote to your Page" and before.code == []  # compact: no JSON wall
        assert f"to.id: {session.settings.fb_sender_id} — your Page ID" in shown
        assert "account-level Inbound Message URL (/webhooks/inbound-sms), format v0.1" in shown
        assert "no application is linked to your Page yet" in shown and "yes, as inbound event" in shown
        tutorial.ensure_application(session)
        after = repr(tutorial.user_writes(session, "Hi again"))
        assert "the application's Inbound URL (/webhooks/inbound), format v1" in after and "from: " in after
    finally:
        session.receiver.stop()
