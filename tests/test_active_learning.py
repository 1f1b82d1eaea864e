"""Steps 04/05 as a learner works them: send a body in full, predict, step the clock, solve checked exercises."""

from __future__ import annotations

import pytest

from fbfailover import tutorial
from fbfailover.payloads import (
    failover_condition,
    failover_workflow,
    message_v1,
    messenger_item,
    sms_item,
    tutorial_workflow,
)
from fbfailover.tutorial import exercises
from fbfailover.tutorial.exchange import shorten_token
from fbfailover.tutorial.predictions import dispatch_outcome, v1_rejection
from fbfailover.tutorial.sdk_twins import python_sdk_twin
from fbfailover.tutorial.stepped_clock import SteppedClock, manual_clock

FROM, TO = "447700900000", "447700900001"


@pytest.fixture
def ready(box, isolated_settings):
    session = tutorial.connect(sandbox=box)
    session.start_receiver()
    tutorial.configure_account_webhooks(session)
    tutorial.learn_facebook_ids(session)
    tutorial.create_or_reuse_application(session)
    yield session
    box.reset_recipients()
    session.receiver.stop()


def _body(tut, expiry_time: int = 600) -> dict:
    s = tut.settings
    return failover_workflow([
        messenger_item(s.fb_sender_id, s.fb_recipient_id, "Hi via Messenger",
                       failover=failover_condition(expiry_time, "read")),
        sms_item(FROM, TO, "Hi via SMS"),
    ])


def _v1(tut) -> dict:
    s = tut.settings
    return {"channel": "messenger", "message_type": "text", "from": s.fb_sender_id, "to": s.fb_recipient_id,
            "text": "Hi", "failover": [message_v1("sms", FROM, TO, "Hi by SMS")]}


# --- send -------------------------------------------------------------------------------------------------
def test_send_shows_the_request_the_answer_and_each_webhook_in_order(ready):
    run = ready.send("POST", "/v0.1/dispatch", _body(ready))
    text = run.text()
    assert text.startswith("POST /v0.1/dispatch → 202 Accepted")
    page = run.html()
    assert "Authorization: Bearer eyJ" in page and "shortened" in page  # behind the request's disclosure
    assert ready.client.mint_jwt()[:40] not in page + text  # never the whole token
    assert "X-Fbfailover-Sandbox" in page
    assert run.submissions() == [("messenger", 0), ("sms", 600)]
    assert run.final_report["status"] == "completed"
    rows = [line.split() for line in text.splitlines()[1:] if line.startswith("  +")]
    assert [(r[0], r[1]) for r in rows][:2] == [("+0", "s")] * 2  # the request and its answer
    webhooks = [line for line in text.splitlines() if "→ /webhooks/" in line]
    assert len(webhooks) == len(run.events) == 5  # one row per webhook, not its JSON
    assert webhooks[0].split()[:6] == ["+0", "s", "sandbox", "→", "/webhooks/status", "status"]
    assert "message 1, messenger" in webhooks[0] and "message 2, sms" in webhooks[2]
    assert webhooks[-1].split()[:7] == ["+602", "s", "sandbox", "→", "/webhooks/status", "final", "report"]
    assert "messenger delivered, sms delivered" in webhooks[-1]
    assert text.count('"message_uuid"') == 1  # the first webhook in full, as the example
    assert page.count("<details") == 2 + len(run.events) and page.count("<details open>") == 1
    assert page.index("<details open><summary>webhook at +0 s: status submitted (messenger)") > page.index("</table>")


def test_send_refuses_a_body_with_problems_and_sends_nothing(ready, box):
    before = len(box.deliveries())
    body = _body(ready)
    body["workflow"][1]["to"]["number"] = "+44 7700 900001"
    run = ready.send("POST", "/v0.1/dispatch", body)
    assert not run.sent
    assert run.text().startswith("Nothing was sent")
    assert "workflow[1].to.number" in run.text()
    assert len(box.deliveries()) == before


def test_send_shows_an_api_refusal_instead_of_raising(ready):
    run = ready.send("POST", "/v0.1/dispatch", _body(ready))  # a valid one first: the JWT works
    ready.settings = ready.settings.replace(application_id="00000000-0000-4000-8000-000000000000")
    refused = ready.send("POST", "/v0.1/dispatch", _body(ready))
    assert run.accepted and not refused.accepted
    assert refused.status == 401 and "401" in refused.error


def test_send_knows_its_endpoints():
    with pytest.raises(ValueError, match="POST"):
        tutorial.Tutorial("sandbox", None).send("GET", "/v0.1/dispatch", {})  # type: ignore[arg-type]


def test_twins_target_vonage_and_name_the_sandbox(ready):
    ready.sandbox.set_recipient("messenger", ready.settings.fb_recipient_id, "rejected")
    run = ready.send("POST", "/v1/messages", _v1(ready))
    twins = repr(run.twins())
    assert "curl -X POST https://api.nexmo.com/v1/messages" in twins
    assert f"sent it to {ready.settings.api_url}/v1/messages (the sandbox)" in twins
    assert "client.messages.send(" in twins and "failover=[" in twins and "Sms(" in twins
    assert "vonage.messages.send({" in twins and "messageType: \"text\"" in twins


def test_sdk_twin_names_the_v4_classes():
    text = python_sdk_twin({"channel": "messenger", "message_type": "text", "from": "1", "to": "2", "text": "hi",
                            "webhook_version": "v0.1", "failover": [message_v1("sms", FROM, TO, "sms")]},
                           "https://api.nexmo.com")
    assert "from vonage import Auth, HttpClientOptions, Vonage" in text
    assert "from vonage_messages import MessengerText, Sms" in text
    assert "from_='1'" in text and "webhook_version='v0.1'" in text
    compile(text, "<sdk>", "exec")


def test_shorten_token_never_keeps_the_token():
    token = "eyJhbGciOiJSUzI1NiJ9." + "a" * 100 + "." + "b" * 300
    assert token not in shorten_token(f"Bearer {token}")
    assert shorten_token(f"Bearer {token}").startswith("Bearer eyJhbGciOiJS…")


# --- predictions ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rule", "letter"), [
    (None, "b"),
    (("messenger", "read", 60), "a"),
    (("messenger", "rejected", None), "c"),
    (("sms", "undeliverable", None), "d"),
])
def test_the_dispatch_question_reads_its_answer_off_the_run(ready, rule, letter):
    if rule:
        channel, outcome, after = rule
        target = ready.settings.fb_recipient_id if channel == "messenger" else TO
        ready.sandbox.set_recipient(channel, target, outcome, after=after)
    q = dispatch_outcome(right=letter)
    assert "(a)" in repr(q) and "(d)" in repr(q) and "why" not in repr(q)
    recorded = q.answer(letter)
    # Recording reveals nothing: not whether it is right, not why.
    assert recorded.title == f"Your prediction ({letter}) is recorded."
    assert "why" not in repr(recorded) and "right" not in repr(recorded) and "why" not in repr(q)
    verdict = q.compare(ready.send("POST", "/v0.1/dispatch", _body(ready)))
    assert verdict["held"], repr(verdict)
    assert verdict.title == f"Your prediction ({letter}) held." and "why" in repr(verdict)


def test_a_wrong_prediction_is_told_what_the_run_did(ready):
    q = dispatch_outcome()
    assert "is recorded" in q.answer("a").title
    verdict = q.compare(ready.send("POST", "/v0.1/dispatch", _body(ready)))
    assert verdict.title == "Your prediction (a) did not hold: the run did (b)."
    assert "sms at +600 s" in repr(verdict)


def test_a_prediction_is_made_once_and_never_replaced():
    q = dispatch_outcome()
    q.answer("c", by="the widget")
    later = q.answer("b")  # a cell run after the widget's choice, e.g. by Run All
    assert q.chosen == "c" and later["changed"] is False
    assert later.title.startswith("Your prediction is already (c), recorded with the widget")
    assert q.answer("C")["changed"] is True and q.chosen == "c"  # the same letter again is no change


def test_the_v1_question_and_bad_letters(ready):
    q = v1_rejection()
    with pytest.raises(ValueError, match="letters a, b, c, d"):
        q.answer("e")
    assert "No prediction was recorded" in q.compare(ready.send("POST", "/v1/messages", _v1(ready))).title
    ready.sandbox.set_recipient("messenger", ready.settings.fb_recipient_id, "rejected")
    q.answer("(B)")
    assert q.compare(ready.send("POST", "/v1/messages", _v1(ready)))["held"]


# --- the manual clock -------------------------------------------------------------------------------------
def test_the_manual_clock_shows_nothing_at_599_s_and_the_sms_at_600_s(ready, isolated_settings):
    clock = manual_clock(ready)
    try:
        assert clock.manual and clock.tut.sandbox is not ready.sandbox
        assert "manual clock" in repr(clock)
        start = clock.send(tutorial_workflow(from_number=FROM, to_number=TO,
                                             fb_sender_id=ready.settings.fb_sender_id,
                                             fb_recipient_id=ready.settings.fb_recipient_id))
        assert start.title == "Simulated time: +0 s since the request (the deadline is at +600 s)"
        at_599 = clock.advance_to(599)
        assert at_599["elapsed"] == 599
        assert [w for _, w in at_599["rows"]] == ["messenger submitted", "messenger delivered"]
        at_600 = clock.advance(1)
        assert (600, "sms submitted") in at_600["rows"]
        assert tutorial.connect().settings.application_id == ready.settings.application_id  # .env untouched
        assert ready.receiver.running
    finally:
        clock.stop()


def test_the_clock_never_goes_back_and_a_dispatch_starts_again(ready, isolated_settings):
    from fbfailover.widgets import ClockStepper

    clock = manual_clock(ready)
    try:
        assert "Nothing to start again" in clock.restart().title
        clock.send(_body(ready))
        stepper = ClockStepper(clock)
        clock.advance(599)  # a cell below the stepper moves the clock: the stepper shows where it stands
        clock.advance(1)
        assert "Simulated time: +600 s since the request" in stepper.view.value
        assert "sms submitted" in stepper.view.value
        back = clock.advance_to(599)
        assert back.title.startswith("The clock already stands at +600 s since the request, past +599 s")
        assert "nothing moved" in back.title and "clock.restart()" in back.title
        assert back["elapsed"] == 600 and clock.elapsed == 600
        stepper.children[0].children[2].click()  # the "to 599 s" button says the same, in the stepper
        assert "The clock already stands at +600 s" in stepper.view.value
        first = clock.run.dispatch_uuid
        stepper.restart.click()  # start this dispatch again: a new dispatch, from +0 s, on the same clock
        assert clock.run.dispatch_uuid != first and clock.elapsed == 0
        assert "Simulated time: +0 s since the request" in stepper.view.value
        stepper.children[0].children[2].click()
        assert "Simulated time: +599 s" in stepper.view.value and "sms" not in stepper.view.value
        stepper.close()  # a closed stepper no longer follows the clock
        assert clock.listeners == []
    finally:
        clock.stop()


def test_a_shared_sandbox_clock_waits_instead(ready):
    clock = SteppedClock(ready, manual=False)
    assert "room's" in clock.explain() or "Live" in clock.explain()
    clock.send(_body(ready, expiry_time=15))
    assert clock.advance(20)["elapsed"] >= 20


# --- exercises --------------------------------------------------------------------------------------------
def test_sms_after_passes_for_a_30_s_expiry_and_explains_a_600_s_one(ready):
    exercise = exercises.sms_after(ready, 30)
    assert "Not yet" in exercise.check().title and "no Dispatch workflow" in exercise.check().title
    ready.send("POST", "/v0.1/dispatch", _body(ready, expiry_time=600))
    wrong = exercise.check()
    # What is wrong, not the answer: no expiry_time to use, no code to run.
    assert not wrong.ok and "followed 600 s after the Messenger message, not 30 s" in repr(wrong)
    assert "expiry_time" not in repr(wrong) and "failover_condition" not in repr(wrong)
    ready.sandbox.set_recipient("messenger", ready.settings.fb_recipient_id, "rejected")
    ready.send("POST", "/v0.1/dispatch", _body(ready, expiry_time=30))
    assert "at once" in repr(exercise.check())
    ready.sandbox.reset_recipients()
    ready.send("POST", "/v0.1/dispatch", _body(ready, expiry_time=30))
    assert exercise.check().ok
    assert repr(exercise.hint()).startswith("Hint 1 of 2") and repr(exercise.hint()).startswith("Hint 2 of 2")


def test_ends_in_error_needs_an_undeliverable_sms(ready):
    exercise = exercises.ends_in_error(ready)
    ready.send("POST", "/v0.1/dispatch", _body(ready))
    wrong = exercise.check()
    assert not wrong.ok and "the SMS, was delivered, so the workflow completed" in repr(wrong)
    assert "undeliverable" not in repr(wrong) and "set_recipient" not in repr(wrong)
    ready.sandbox.set_recipient("sms", TO, "undeliverable")
    ready.send("POST", "/v0.1/dispatch", _body(ready))
    assert exercise.check().ok


def test_v1_reaches_sms_needs_a_rejection(ready):
    exercise = exercises.v1_reaches_sms(ready)
    ready.send("POST", "/v1/messages", _v1(ready))
    wrong = exercise.check()
    assert not wrong.ok and "Messenger delivered the message" in repr(wrong)
    assert "reject" not in repr(wrong) and "set_recipient" not in repr(wrong)
    ready.sandbox.set_recipient("messenger", ready.settings.fb_recipient_id, "rejected")
    ready.send("POST", "/v1/messages", _v1(ready))
    assert exercise.check().ok
    assert "Exercise: the v1 failover reaches the SMS" in repr(exercise)


# --- the widgets, headless --------------------------------------------------------------------------------
def test_quiz_records_the_selected_answer_once_and_keeps_a_readable_display(ready):
    from fbfailover.widgets import Quiz

    quiz = Quiz(dispatch_outcome())
    quiz.compare(ready.send("POST", "/v0.1/dispatch", _body(ready)))  # Run All: compared before any prediction
    assert "No prediction was recorded" in quiz.result.value and not quiz.options.disabled  # still open
    quiz.button.click()
    assert "pick one" in quiz.result.value and not quiz.button.disabled
    quiz.options.value = "c"
    quiz.button.click()
    assert "(c) is recorded" in quiz.result.value and quiz.prediction.chosen == "c"
    # nothing revealed before the run
    assert ">why<" not in quiz.result.value and "held." not in quiz.result.value.split("Now send")[0]
    assert quiz.options.disabled and quiz.button.disabled  # locked: the choice stays
    bundle = quiz._repr_mimebundle_()
    assert bundle["text/plain"].startswith("The recipient never reads") and "<li>" in bundle["text/html"]
    refused = quiz.answer("b")  # a committed cell after the widget's choice
    assert refused["changed"] is False and quiz.options.value == "c" and "already (c)" in quiz.result.value
    verdict = quiz.compare(ready.send("POST", "/v0.1/dispatch", _body(ready)))
    assert verdict.title == "Your prediction (c) did not hold: the run did (b)."
    assert "did not hold" in quiz.result.value


def test_clock_stepper_buttons_step_to_the_deadline(ready):
    from fbfailover.widgets import ClockStepper

    clock = manual_clock(ready)
    try:
        clock.send(_body(ready))
        stepper = ClockStepper(clock)
        buttons = stepper.children[0].children
        assert [b.description for b in buttons] == ["+1 s", "+60 s", "to 599 s", "to the deadline (600 s)",
                                                   "start this dispatch again"]
        buttons[2].click()
        assert "+599 s" in stepper.view.value and "sms" not in stepper.view.value
        buttons[3].click()
        assert "+600 s" in stepper.view.value and "sms submitted" in stepper.view.value
        assert "ClockStepper (buttons: +1 s" in stepper._repr_mimebundle_()["text/plain"]
    finally:
        clock.stop()


def test_a_replaced_clock_stepper_says_so_in_its_own_output(ready):
    from fbfailover.errors import SandboxError
    from fbfailover.tutorial.stepped_clock import REPLACED
    from fbfailover.widgets import ClockStepper

    old = manual_clock(ready)
    old.send(_body(ready))
    stepper = ClockStepper(old)
    new = manual_clock(ready)  # the cell ran again
    try:
        buttons = stepper.children[0].children
        buttons[0].click()  # no exception reaches the log console: the stepper shows what to do
        assert "replaced when the cell that made it ran again: use the newest clock" in stepper.view.value
        assert "fbfailover sandbox" not in stepper.view.value
        assert all(b.disabled for b in buttons)
        with pytest.raises(SandboxError, match="use the newest clock"):
            old.advance(1)
        assert old.view().title == f"Stopped: {REPLACED}"
        new.send(_body(ready))
        assert new.advance(600)["elapsed"] == 600
    finally:
        new.stop()

