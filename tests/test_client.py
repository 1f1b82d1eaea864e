"""VonageClient against a real local HTTP server: headers, bodies, retries, errors, transport failures."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import parse_qs

import pytest
import requests

from fbfailover.client import VonageClient
from fbfailover.config import Settings
from fbfailover.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    UncertainOutcomeError,
    UncertainServerError,
    UncertainTransportError,
)
from fbfailover.payloads import application_body, to_curl, tutorial_workflow
from fbfailover.tokens import basic_auth_header, verify_application_jwt

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
BODY = tutorial_workflow(from_number="447700900000", to_number="447700900001", fb_sender_id="page",
                         fb_recipient_id="psid")


@pytest.fixture
def settings(api_server, key_file):
    return Settings(api_key="key123", api_secret="secret456", application_id=APP_ID,
                    private_key_path=str(key_file), api_url=api_server.url, rest_url=api_server.url + "/rest")


@pytest.fixture
def server(api_server):
    return api_server


def reply(server, status, body=None, headers=None, delay=0.0):
    server.script.append((status, headers or {}, body, delay))


def test_send_workflow_posts_json_with_a_fresh_verified_jwt(server, settings, public_key):
    reply(server, 202, {"dispatch_uuid": "d-1"})
    with VonageClient(settings) as client:
        assert client.send_workflow(BODY) == {"dispatch_uuid": "d-1"}
    (seen,) = server.seen
    assert (seen["method"], seen["path"]) == ("POST", "/v0.1/dispatch")
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Accept"] == "application/json"
    assert seen["headers"]["User-Agent"].startswith("fbfailover/")
    assert json.loads(seen["body"]) == BODY
    scheme, token = seen["headers"]["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert verify_application_jwt(token, public_key)["application_id"] == APP_ID


def test_each_request_gets_its_own_jwt(server, settings):
    with VonageClient(settings) as client:
        client.send_message_v01({"x": 1})
        client.send_message_v1({"x": 2})
    tokens = [s["headers"]["Authorization"] for s in server.seen]
    assert [s["path"] for s in server.seen] == ["/v0.1/messages", "/v1/messages"]
    assert tokens[0] != tokens[1]  # distinct jti


def test_a_token_brought_on_purpose_is_sent_as_is_and_the_curl_twin_still_hides_it(server, settings):
    reply(server, 401, {"title": "Unauthorised", "detail": "Invalid Token"})
    with VonageClient(settings) as client:
        request = client.request_for("send_workflow", BODY)
        with pytest.raises(AuthenticationError):
            client.send(request, bearer="not-a-real-token")
    assert server.seen[0]["headers"]["Authorization"] == "Bearer not-a-real-token"
    assert '"Authorization: Bearer $JWT"' in to_curl(request)


def test_a_token_brought_for_a_basic_request_is_refused_before_sending(server, settings):
    with VonageClient(settings) as client, pytest.raises(ValueError, match="bearer= is for requests"):
        client.send(client.request_for("list_applications"), bearer="x")
    assert server.seen == []


def test_basic_auth_variant_of_dispatch(server, settings):
    with VonageClient(settings) as client:
        client.send_workflow(BODY, auth="basic")
    assert server.seen[0]["headers"]["Authorization"] == basic_auth_header("key123", "secret456")


def test_applications_crud_uses_basic_auth(server, settings):
    body = application_body("app", "https://x.test/in", "https://x.test/status")
    reply(server, 201, {"id": "app-1", "keys": {"private_key": "PEM"}})
    reply(server, 200, {"page": 1, "_embedded": {"applications": []}})
    reply(server, 200, {"id": "app 1"})
    reply(server, 200, {"id": "app-1", "name": "renamed"})
    reply(server, 204)
    with VonageClient(settings) as client:
        assert client.create_application(body)["id"] == "app-1"
        assert client.list_applications(page=2, page_size=10)["page"] == 1
        assert client.get_application("app 1") == {"id": "app 1"}
        assert client.update_application("app-1", {**body, "name": "renamed"})["name"] == "renamed"
        assert client.delete_application("app-1") == {}
    calls = [(s["method"], s["path"], s["query"]) for s in server.seen]
    assert calls == [("POST", "/v2/applications", {}),
                     ("GET", "/v2/applications", {"page": "2", "page_size": "10"}),
                     ("GET", "/v2/applications/app%201", {}),
                     ("PUT", "/v2/applications/app-1", {}),
                     ("DELETE", "/v2/applications/app-1", {})]
    assert {s["headers"]["Authorization"] for s in server.seen} == {basic_auth_header("key123", "secret456")}
    assert json.loads(server.seen[0]["body"]) == body


def test_account_settings_use_query_credentials_and_a_form(server, settings):
    reply(server, 200, {"mo-callback-url": "https://x.test/in"})
    with VonageClient(settings) as client:
        assert client.update_account_settings(mo_callback_url="https://x.test/in", dr_callback_url="")
    (seen,) = server.seen
    assert seen["path"] == "/rest/account/settings"
    assert seen["query"] == {"api_key": "key123", "api_secret": "secret456"}
    assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(seen["body"].decode(), keep_blank_values=True) == {"moCallBackUrl": ["https://x.test/in"],
                                                                         "drCallBackUrl": [""]}
    assert "Authorization" not in seen["headers"]


def test_reading_the_account_settings_posts_no_urls(server, settings):
    reply(server, 200, {"mo-callback-url": "https://x.test/in", "dr-callback-url": ""})
    with VonageClient(settings) as client:
        assert client.account_settings()["mo-callback-url"] == "https://x.test/in"
    (seen,) = server.seen
    assert (seen["method"], seen["path"]) == ("POST", "/rest/account/settings")
    assert seen["query"] == {"api_key": "key123", "api_secret": "secret456"}
    assert not seen["body"]


def test_request_for_gives_the_curl_twin_without_secrets(settings):
    client = VonageClient(settings)
    for operation, args in [("send_workflow", (BODY,)), ("list_applications", ()),
                            ("update_account_settings", ("https://x.test/in",))]:
        text = to_curl(client.request_for(operation, *args))
        assert "secret456" not in text and "key123" not in text and "eyJ" not in text
    assert '"Authorization: Bearer $JWT"' in to_curl(client.request_for("send_workflow", BODY))
    with pytest.raises(ValueError, match="unknown operation"):
        client.request_for("send_fax")
    with pytest.raises(ValueError, match="auth must be"):
        client.request_for("send_workflow", BODY, "query")
    client.close()


def test_retry_after_on_429_is_honoured_for_a_get(server, settings):
    reply(server, 429, {"title": "Rate Limit Hit"}, {"Retry-After": "1"})
    reply(server, 200, {"id": "app-1"})
    started = time.monotonic()
    with VonageClient(settings) as client:
        assert client.get_application("app-1") == {"id": "app-1"}
    assert time.monotonic() - started >= 0.9
    assert len(server.seen) == 2


def test_503_then_200_is_retried_for_a_get(server, settings):
    reply(server, 503, "oops")
    reply(server, 200, {"id": "app-1"})
    with VonageClient(settings) as client:
        assert client.get_application("app-1") == {"id": "app-1"}
    assert [s["method"] for s in server.seen] == ["GET", "GET"]


def test_500_then_200_is_retried_for_a_put(server, settings):
    reply(server, 500, "oops")
    reply(server, 200, {"id": "app-1", "name": "renamed"})
    with VonageClient(settings) as client:
        assert client.update_application("app-1", {"name": "renamed"})["name"] == "renamed"
    assert [s["method"] for s in server.seen] == ["PUT", "PUT"]


def test_retries_are_bounded_then_mapped(server, settings):
    for _ in range(3):
        reply(server, 503, {"title": "Service Unavailable", "detail": "try later"})
    with VonageClient(settings, retries=2) as client, pytest.raises(ServerError) as info:
        client.list_applications()
    assert len(server.seen) == 3
    assert info.value.status == 503 and info.value.detail == "try later"
    assert not isinstance(info.value, UncertainOutcomeError)  # a GET changes nothing: no doubt to report
    for _ in range(2):
        reply(server, 429, {"title": "Rate Limit Hit"}, {"Retry-After": "0"})
    with VonageClient(settings, retries=1) as client, pytest.raises(RateLimitError):
        client.list_applications()
    assert len(server.seen) == 5


def test_a_post_answered_429_is_not_retried_and_says_when_to_try_again(server, settings):
    reply(server, 429, {"title": "Rate Limit Hit"}, {"Retry-After": "7"})
    reply(server, 202, {"dispatch_uuid": "never"})
    started = time.monotonic()
    with VonageClient(settings) as client, pytest.raises(RateLimitError) as info:
        client.send_workflow(BODY)
    assert time.monotonic() - started < 5  # no wait for Retry-After: nothing is retried
    assert len(server.seen) == 1
    assert info.value.retry_after == "7"
    assert str(info.value).endswith("— not accepted; try again in 7 s (Retry-After)")


@pytest.mark.parametrize(("send", "what"), [
    (lambda client: client.send_workflow(BODY), "for the dispatch before sending it again"),
    (lambda client: client.send_message_v1({"x": 1}), "for the message before sending it again"),
    (lambda client: client.create_application({"name": "a"}), "list your applications"),
])
def test_a_post_the_server_took_then_answered_502_is_not_resent(server, settings, send, what):
    reply(server, 502, "<html>Bad gateway</html>")  # the server records the request, then fails
    reply(server, 202, {"dispatch_uuid": "a-second-one"})
    with VonageClient(settings, retries=3) as client, pytest.raises(UncertainServerError) as info:
        send(client)
    assert len(server.seen) == 1  # exactly one request reached the server
    err = info.value
    assert isinstance(err, ServerError) and isinstance(err, UncertainOutcomeError)
    assert err.status == 502 and err.method == "POST"
    text = str(err)
    assert "\n" not in text and "may or may not have been accepted" in text and what in text
    if "dispatch" in what or "message" in what:
        assert "watch the status webhooks or the event feed" in text


def test_an_uncertain_5xx_names_the_dispatch_id_the_answer_carried(server, settings):
    reply(server, 500, {"title": "Internal Error", "dispatch_uuid": "d-42"})
    with VonageClient(settings) as client, pytest.raises(UncertainServerError) as info:
        client.send_workflow(BODY)
    assert len(server.seen) == 1
    assert info.value.resource_id == "d-42"
    assert "for the dispatch d-42 before sending it again" in str(info.value)


def test_a_post_with_no_answer_in_time_is_not_resent(server, settings):
    reply(server, 202, {"late": True}, delay=1.0)
    reply(server, 202, {"dispatch_uuid": "a-second-one"})
    with VonageClient(settings, timeout=0.2, retries=3) as client, \
            pytest.raises(UncertainTransportError) as info:
        client.send_workflow(BODY)
    assert len(server.seen) == 1  # the server may have acted: exactly one request
    err = info.value
    assert isinstance(err, TransportError) and isinstance(err, UncertainOutcomeError)
    assert not isinstance(err, ApiError)
    assert str(err) == (f"no answer from {settings.api_url}/v0.1/dispatch within 0.2 s — the request may or may "
                        "not have been accepted; watch the status webhooks or the event feed for the dispatch "
                        "before sending it again")


def test_a_post_whose_connection_breaks_after_sending_is_not_resent(settings):
    """A server that reads the whole request, then hangs up without answering."""
    received = []
    done = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)

    def hang_up() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                received.append(conn.recv(65536))

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with VonageClient(settings.replace(api_url=url), retries=3) as client, \
                pytest.raises(UncertainTransportError) as info:
            client.send_message_v1({"x": 1})
    finally:
        done.set()
        thread.join(5)
        listener.close()
    assert len(received) == 1 and received[0].startswith(b"POST /v1/messages ")
    assert str(info.value).startswith(f"the connection to {url}/v1/messages broke before an answer came — "
                                      "the request may or may not have been accepted; watch the status webhooks")


def test_a_get_with_no_answer_in_time_is_retried(server, settings):
    reply(server, 200, {"late": True}, delay=1.0)
    reply(server, 200, {"late": True}, delay=1.0)
    with VonageClient(settings, timeout=0.2, retries=1) as client, \
            pytest.raises(TransportError, match="no answer from") as info:
        client.get_application("x")
    assert not isinstance(info.value, UncertainOutcomeError)
    assert [s["method"] for s in server.seen] == ["GET", "GET"]


def test_a_refused_post_is_retried_then_says_is_the_sandbox_running(settings, monkeypatch):
    import urllib3.util.connection

    attempts = []
    real = urllib3.util.connection.create_connection

    def counting(*args, **kwargs):
        attempts.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting)
    # Bound but never listening, and held for the whole test: connections are refused, and no other test's
    # server can take the port in between (a port closed again after picking it can be).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        dead = settings.replace(api_url=f"http://127.0.0.1:{port}")
        with VonageClient(dead, retries=2) as client, pytest.raises(TransportError) as info:
            client.send_workflow(BODY)
    assert len(attempts) == 3  # nothing was sent, so even a POST is tried again
    assert not isinstance(info.value, UncertainOutcomeError)
    assert str(info.value) == (f"could not reach http://127.0.0.1:{port}/v0.1/dispatch — "
                               "is the sandbox running? start it with `fbfailover sandbox`")


def test_problem_json_is_mapped_onto_the_error_tree(server, settings):
    problem = {"type": "https://developer.vonage.com/api-errors",
               "title": "Your request parameters didn't validate.",
               "detail": "Found errors validating 1 of your submitted parameters.", "instance": "trace-1",
               "invalid_parameters": [{"name": "workflow[0].failover.expiry_time", "reason": "out of range"}]}
    reply(server, 400, problem)
    with VonageClient(settings) as client, pytest.raises(BadRequestError) as info:
        client.send_workflow(BODY)
    err = info.value
    assert (err.status, err.method, err.type, err.instance) == (400, "POST", problem["type"], "trace-1")
    assert err.url == settings.api_url + "/v0.1/dispatch"
    assert err.invalid_parameters == problem["invalid_parameters"]
    assert err.body == problem
    assert "\n" not in str(err) and "workflow[0].failover.expiry_time" in str(err)


@pytest.mark.parametrize(("status", "body", "cls", "title"), [
    (401, {"title": "Unauthorised", "detail": "Invalid Token"}, AuthenticationError, "Unauthorised"),
    (401, {"error-code": "401", "error-code-label": "authentication failed"}, AuthenticationError,
     "authentication failed"),
    (404, {"title": "Not Found", "invalid_parameters": {"name": "id", "reason": "no"}}, NotFoundError,
     "Not Found"),
    (418, "<html>\n<b>teapot</b>\n</html>", ApiError, "I'm a Teapot"),
    (502, "<html>\n  Bad gateway\n</html>", ServerError, "Bad Gateway"),
])
def test_other_error_bodies(server, settings, status, body, cls, title):
    reply(server, status, body)
    with VonageClient(settings, retries=0) as client, pytest.raises(cls) as info:
        client.get_application("x")
    assert info.value.title == title and "\n" not in str(info.value)
    if isinstance(body, str):
        assert info.value.detail.startswith("<html> ")


def test_non_json_success_is_an_error(server, settings):
    reply(server, 200, "plain text")
    with VonageClient(settings) as client, pytest.raises(ApiError, match="expected JSON"):
        client.get_application("x")


def test_connection_refused_names_the_url_and_the_sandbox(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = settings.replace(api_url=f"http://127.0.0.1:{port}", rest_url=f"http://127.0.0.1:{port}")
    with VonageClient(dead, retries=0) as client, pytest.raises(TransportError) as info:
        client.send_workflow(BODY)
    assert str(info.value) == (f"could not reach http://127.0.0.1:{port}/v0.1/dispatch — "
                               "is the sandbox running? start it with `fbfailover sandbox`")
    assert isinstance(info.value, ConnectionError)
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    with VonageClient(dead, retries=0) as client, pytest.raises(TransportError) as info:
        client.update_account_settings("https://x.test/in")
    assert info.value.__cause__ is None  # requests' message would carry the secret in the query string


def test_missing_credentials_fail_before_sending(server, settings):
    with VonageClient(settings.replace(application_id=None)) as client, \
            pytest.raises(ConfigError, match="VONAGE_APPLICATION_ID"):
        client.send_workflow(BODY)
    with VonageClient(settings.replace(api_secret=None)) as client, \
            pytest.raises(ConfigError, match="VONAGE_API_SECRET"):
        client.list_applications()
    assert server.seen == []


def test_a_given_session_is_used_and_left_open(server, settings):
    session = requests.Session()
    with VonageClient(settings, session=session) as client:
        client.send_workflow(BODY)
    assert client.session is session and len(server.seen) == 1
    session.get(server.url + "/still-open", timeout=5)
    session.close()
    assert "secret456" not in repr(client)
