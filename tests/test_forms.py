"""The widget forms, headless: set values, click, read the models and the Output (no kernel, no browser)."""

from __future__ import annotations

import html

import pytest

from fbfailover import tutorial
from fbfailover.errors import ValidationError
from fbfailover.tutorial.twins import token_twins_of, twins_of
from fbfailover.widgets import ApplicationForm, FailoverForm, JwtForm, MessagesV1Form, TwinTabs


@pytest.fixture
def tut(box, isolated_settings):
    session = tutorial.connect(sandbox=box)
    session.start_receiver()
    tutorial.configure_account_webhooks(session)
    tutorial.learn_facebook_ids(session)
    yield session
    box.reset_recipients()
    session.receiver.stop()


def _texts(output) -> str:
    return "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in output.outputs)


def _shown_twins(form) -> tuple[TwinTabs, str]:
    """The twins a form showed last in its output (as tabs), and the text/plain it gave them there."""
    (shown,) = [o["data"]["text/plain"] for o in form.output.outputs
                if o["data"]["text/plain"].startswith(form.twins.twins.title)]
    assert isinstance(form.twins, TwinTabs) and form.output.outputs[-1]["data"]["text/plain"] == shown
    assert "application/vnd.jupyter.widget-view+json" in form.output.outputs[-1]["data"]  # tabs in JupyterLab
    assert form.output.outputs[-1]["data"]["text/html"] == form.twins.twins.html()  # what GitHub shows
    return form.twins, shown


def _dispatches(box) -> int:
    return sum(1 for d in box.deliveries() if d["kind"] == "final_report")


def test_every_widget_carries_a_css_class_for_browser_tests(tut):
    form = FailoverForm(tut)
    assert "fbf-failover" in form._dom_classes
    assert "fbf-failover-submit" in form.button._dom_classes
    assert "fbf-failover-output" in form.output._dom_classes
    for name, field in form.fields.items():
        assert f"fbf-failover-{name}" in field._dom_classes
        assert f"fbf-failover-{name}-error" in form.errors[name]._dom_classes


def test_the_failover_form_is_prefilled_from_the_settings(tut):
    form = FailoverForm(tut)
    assert form.fields["fb_sender_id"].value == tut.settings.fb_sender_id
    assert form.fields["fb_recipient_id"].value == tut.settings.fb_recipient_id
    assert form.fields["from_number"].value == "447700900000"
    assert repr(form).startswith("FailoverForm(from_number='447700900000', to_number='447700900001'")


def test_a_leading_plus_is_explained_inline_as_it_is_typed(tut):
    form = FailoverForm(tut)
    form.fields["from_number"].value = "+447700900000"
    shown = html.unescape(form.errors["from_number"].value)
    assert "leading '+'" in shown and "use 447700900000" in shown
    form.fields["from_number"].value = "447700900000"
    assert form.errors["from_number"].value == ""


def test_an_alphanumeric_sms_sender_is_accepted_and_a_recipient_must_be_a_number(tut):
    for form in (FailoverForm(tut), MessagesV1Form(tut)):
        form.fields["from_number"].value = "Vonage"
        assert form.errors["from_number"].value == ""
        form.fields["to_number"].value = "Vonage"
        assert "SMS only" in html.unescape(form.errors["to_number"].value)
        form.fields["from_number"].value = "Vonage Tutorial"  # 15 characters: too long for a sender id
        assert "at most 11" in html.unescape(form.errors["from_number"].value)


def test_a_failover_from_an_alphanumeric_sender_is_sent(tut):
    tutorial.ensure_application(tut)
    form = MessagesV1Form(tut, outcome="Messenger rejects")
    form.fields["from_number"].value = "Vonage"
    result = form.submit()
    assert [line[1] for line in result.lines][-1] == "delivered"


def test_clicking_send_with_a_bad_field_sends_nothing(tut, box):
    form = FailoverForm(tut)
    form.fields["to_number"].value = "00447700900001"
    form.fields["expiry_time"].value = 5
    before = (_dispatches(box), len(tut.receiver.events()))
    form.button.click()
    assert "Nothing was sent" in _texts(form.output)
    assert "use 447700900001" in form.errors["to_number"].value
    assert "between 15 and 86400" in form.errors["expiry_time"].value
    assert (_dispatches(box), len(tut.receiver.events())) == before
    with pytest.raises(ValidationError):
        form.submit()


def test_clicking_send_runs_the_whole_failover(tut):
    tutorial.ensure_application(tut)
    form = FailoverForm(tut)
    form.button.click()
    assert form.result.title == "Final report: completed"
    assert "failed over to SMS: yes" in repr(form.result)
    assert form.progress.value == form.progress.max == 600
    assert "sms submitted@600s" in form.timeline.text()
    shown = _texts(form.output)
    assert form.sent["dispatch_uuid"] in shown and "Final report: completed" in shown
    # the exchange as one compact table, each JSON behind a disclosure (the first webhook open)
    table = form.exchange.html()
    assert form.exchange.text().splitlines()[0] == "POST /v0.1/dispatch → 202 Accepted"
    assert table.count("<details open>") == 1 and "final report" in table and "</table>" in table
    assert "<details><summary>request body</summary>" in form.sent._repr_html_()  # folded


def test_choosing_reads_in_time_sends_no_sms(tut):
    tutorial.ensure_application(tut)
    form = FailoverForm(tut, outcome="reads in time")
    report = form.submit()
    assert "failed over to SMS: no" in repr(report)
    assert "sms" not in form.timeline.text()


def test_an_api_error_is_shown_in_the_output(tut):
    form = FailoverForm(tut)  # no application yet: the JWT cannot be made
    form.button.click()
    assert "VONAGE_APPLICATION_ID" in _texts(form.output)


def test_the_application_form_checks_urls_then_creates(tut):
    form = ApplicationForm(tut)
    assert form.fields["status_url"].value == tut.receiver.status_url
    form.fields["inbound_url"].value = "example.com/inbound"
    form.button.click()
    assert "http://" in form.errors["inbound_url"].value and form.result is None
    form.fields["inbound_url"].value = tut.receiver.inbound_url
    form.fields["keys"].value = "api"
    form.button.click()
    assert form.result["application"]["id"] == tut.settings.application_id
    assert "API generated" in form.result.title


def test_the_application_form_says_where_the_webhooks_go_and_what_became_of_the_key_choice(tut):
    tutorial.create_or_reuse_application(tut)  # the application saved in .env
    form = ApplicationForm(tut)
    form.fields["status_url"].value = "https://example.com/webhooks/status"
    form.fields["keys"].value = "api"
    form.button.click()
    text = repr(form.result)
    assert form.result.title == "Reusing the application saved in .env, updated"
    assert "now point at this receiver" not in text and "status URL: https://example.com/webhooks/status" in text
    assert "where webhooks go: not to this notebook's receiver" in text
    assert "key pair: kept: the API generates a key pair only when it creates an application" in text
    form.fields["status_url"].value = tut.receiver.status_url
    form.fields["keys"].value = "local"
    form.button.click()
    assert "where webhooks go: the receiver in this notebook" in repr(form.result)
    assert "key pair:" not in repr(form.result)


def test_the_jwt_form_refuses_a_day_and_more_and_bad_acl(tut):
    tutorial.ensure_application(tut)
    form = JwtForm(tut)
    form.fields["ttl"].value = 100_000
    form.fields["acl"].value = "{paths"
    with pytest.raises(ValidationError) as caught:
        form.submit()
    assert set(caught.value.fields) == {"ttl", "acl"}
    assert "24 h" in form.errors["ttl"].value and "not JSON" in form.errors["acl"].value
    form.fields["ttl"].value = 120
    form.fields["acl"].value = '{"paths": {"/*/messages/**": {}}}'
    form.button.click()
    assert form.result["claims"]["acl"] == {"paths": {"/*/messages/**": {}}}
    assert "lifetime: 120 s" in _texts(form.output)


def test_the_v1_form_fails_over_on_rejection(tut):
    tutorial.ensure_application(tut)
    form = MessagesV1Form(tut, outcome="Messenger rejects")
    assert form.progress.description == "waiting"
    assert "Not read in time" not in form.fields["text_messenger"].value  # v1 has no read timer
    result = form.submit()
    assert [line[1] for line in result.lines] == ["submitted", "rejected", "submitted", "delivered"]
    assert form.timeline.data.rows and form.timeline.data.rows[-1].channel == "sms"
    assert form.progress.description == "settled" and form.progress.value == form.progress.max == 2


def test_live_mode_sandbox_only_choices_explain_and_send_nothing(isolated_settings):
    env = {"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "s3cr3tvalue", "FB_SENDER_ID": "107083064136738",
           "FB_RECIPIENT_ID": "2304955562948713", "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    live = tutorial.connect(env)
    for form in (FailoverForm(live), MessagesV1Form(live)):
        assert form.fields["outcome"].disabled and form.fields["outcome"].value == "never read (the default)"
        form.fields["outcome"].value = "reads in time"  # what a notebook cell does, whatever the mode
        result = form.submit()  # would raise if it tried to reach api.nexmo.com without an application
        assert result.title.startswith("Sandbox only") and "nothing was sent" in result.title


def test_the_facebook_ids_form_learns_them_from_the_sandbox_on_a_thread(tut):
    from fbfailover.widgets import FacebookIdsForm

    form = FacebookIdsForm(tut)
    form.listen_button.click()
    panel = form.join(20)
    assert panel.title == "Inbound Messenger message received"
    assert form.fields["page_id"].value == panel["fb_sender_id"] == tut.settings.fb_sender_id
    assert form.fields["psid"].value == panel["fb_recipient_id"]
    assert not form.listen_button.disabled and form.cancel_button.disabled
    assert "Inbound Messenger message received" in _texts(form.output)


def _live_form():
    from fbfailover.widgets import FacebookIdsForm
    from tests.test_tutorial import _LiveSession

    live = _LiveSession()
    live.settings = type("S", (), {"fb_sender_id": None, "fb_recipient_id": None})()
    return live, FacebookIdsForm(live, timeout=60)


def test_the_facebook_ids_form_shows_what_to_do_and_can_be_cancelled():
    live, form = _live_form()
    assert "Send any message to your Page from Facebook now" in form.instructions.value
    form.listen_button.click()
    assert form.cancel_button.disabled is False
    form.cancel_button.click()
    panel = form.join(10)
    assert panel["cancelled"] and form.countdown.value == "stopped"
    assert live.saved == {}
    live.receiver.close()


def test_the_facebook_ids_form_saves_typed_ids_and_explains_bad_ones():
    from fbfailover.widgets.facebook_ids_form import countdown_text

    live, form = _live_form()
    form.fields["page_id"].value = "my page"
    assert "digits only" in form.errors["page_id"].value
    form.button.click()
    assert live.saved == {}
    form.fields["page_id"].value = "785347176233987"
    form.fields["psid"].value = "9412942069366717"
    form.listen()  # typing the ids also stops a wait that is running
    form.button.click()
    form.join(10)
    assert live.saved == {"FB_SENDER_ID": "785347176233987", "FB_RECIPIENT_ID": "9412942069366717"}
    assert form.result.title == "Facebook ids entered by hand"
    assert countdown_text(299.5) == "4:59 left" and countdown_text(-1) == "0:00 left"
    live.receiver.close()


def test_a_form_reads_well_without_a_kernel(tut):
    form = FailoverForm(tut)
    form.fields["text_sms"].value = "x" * 200
    bundle = form._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # still the live form in JupyterLab
    lines = bundle["text/plain"].splitlines()
    assert lines[0] == "FailoverForm (press 'Send' or call form.submit()):"
    assert "  from_number: 447700900000" in lines and "…" not in lines[1]
    assert max(len(line) for line in lines) < 100  # long values are cut per line, not the whole repr
    page = bundle["text/html"]
    assert "<th>to_number</th><td><code>447700900001</code></td>" in page and "style=" not in page
    assert JwtForm(tut).text().splitlines()[1:] == ["  ttl: 900", "  acl: (empty)"]


def test_the_failover_form_shows_the_twins_of_the_very_request_it_sent(tut, box):
    tutorial.ensure_application(tut)
    form = FailoverForm(tut, expiry_time=45, condition_status="delivered", outcome="Messenger rejects")
    form.fields["text_messenger"].value = "Bonjour from the form, take 2"
    form.fields["text_sms"].value = "Au revoir by SMS"
    form.button.click()
    tabs, shown = _shown_twins(form)
    sent = form.sent["body"]
    assert sent["workflow"][0]["failover"] == {"expiry_time": 45, "condition_status": "delivered"}
    assert sent["workflow"][0]["message"]["content"]["text"] == "Bonjour from the form, take 2"
    # the twins are those of the body sent and of Vonage's host, as run.twins() builds them: not a stored text
    assert [t.kind for t in tabs.twins] == ["curl", "node", "python-sdk"]
    assert tabs.twins.twins == twins_of("/v0.1/dispatch", sent) == form.exchange.twins().twins
    assert tabs.tabs.titles == ("curl", "Node", "Python")
    for twin in tabs.twins:
        assert "Bonjour from the form, take 2" in twin.text and "Au revoir by SMS" in twin.text, twin.kind
        assert "api.nexmo.com" in twin.host and twin.host in twin.text and "127.0.0.1" not in twin.text, twin.kind
        assert twin.text.splitlines()[0] in shown, twin.kind
    assert 'expiry_time": 45' in tabs.twins["curl"].text and "expiry_time: 45," in tabs.twins["node"].text
    assert "'expiry_time': 45," in tabs.twins["python-sdk"].text
    assert "'condition_status': 'delivered'" in tabs.twins["python-sdk"].text
    assert f"sent it to {tut.settings.api_url}/v0.1/dispatch (the sandbox)" in shown
    # the next send shows the twins of its own body, in place of the last ones
    form.fields["text_messenger"].value = "A second text"
    form.submit()
    again, shown = _shown_twins(form)
    assert "A second text" in again.twins["node"].text and "take 2" not in shown


def test_the_v1_form_shows_the_sdk_twins_of_the_very_request_it_sent(tut):
    tutorial.ensure_application(tut)
    form = MessagesV1Form(tut, outcome="Messenger rejects")
    form.fields["text_sms"].value = "Only by SMS, from the v1 form"
    form.fields["to_number"].value = "447700900123"
    form.submit()
    tabs, shown = _shown_twins(form)
    sent = form.sent["body"]
    assert (sent["failover"][0]["text"], sent["failover"][0]["to"]) == ("Only by SMS, from the v1 form", "447700900123")
    assert tabs.twins.twins == twins_of("/v1/messages", sent)
    assert [t.kind for t in tabs.twins] == ["curl", "node", "python-sdk"]
    assert "@vonage/server-sdk" in tabs.twins["node"].text and "vonage" in tabs.twins["python-sdk"].text
    for twin in tabs.twins:
        assert "Only by SMS, from the v1 form" in twin.text and "447700900123" in twin.text, twin.kind
        assert twin.text.splitlines()[-1] in shown, twin.kind


def test_a_refused_send_shows_no_twins(tut, box):
    form = FailoverForm(tut)
    form.fields["to_number"].value = "+447700900001"
    form.button.click()
    assert "Nothing was sent" in _texts(form.output) and "outside this notebook" not in _texts(form.output)
    assert not hasattr(form, "twins")


def test_the_jwt_form_shows_the_twins_of_the_token_it_minted(tut):
    tutorial.ensure_application(tut)
    form = JwtForm(tut, ttl=300)
    form.fields["ttl"].value = 1234
    form.fields["acl"].value = '{"paths": {"/*/messages/**": {}}}'
    form.button.click()
    tabs, shown = _shown_twins(form)
    claims = form.result["claims"]
    assert claims["exp"] - claims["iat"] == 1234
    assert form.output.outputs[0]["data"]["text/plain"] == repr(form.result)  # the token first, then its twins
    assert tabs.twins.twins == token_twins_of(claims["application_id"], "private.key", 1234, acl=claims["acl"])
    assert tabs.twins.twins == tutorial.token_twins(tut, form.result).twins
    assert "JWT=$(fbfailover jwt" in tabs.twins["curl"].text and "--ttl 1234" in tabs.twins["curl"].text
    assert "ttl: 1234" in tabs.twins["node"].text and "now + 1234" in tabs.twins["python-sdk"].text
    for twin in tabs.twins:
        assert claims["application_id"] in twin.text and "/*/messages/**" in twin.text, twin.kind
        assert form.result["token"] not in twin.text and "PRIVATE KEY" not in twin.text, twin.kind
        assert twin.text.splitlines()[-1] in shown, twin.kind
    assert "lifetime 1234 s, with its acl" in shown
    form.fields["ttl"].value = 60
    form.fields["acl"].value = ""
    form.submit()
    again, shown = _shown_twins(form)
    assert "--ttl 60" in again.twins["curl"].text and "/*/messages/**" not in shown
