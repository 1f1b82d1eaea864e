"""The twins of the notebooks' sends: pure builders, one host each, and a runner that fails a broken twin."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fbfailover.payloads import message_v1, tutorial_workflow
from fbfailover.tutorial import sdk_twins
from fbfailover.tutorial.twins import KINDS, Twins, twins_of

ROOT = Path(__file__).resolve().parents[1]
DISPATCH = tutorial_workflow(from_number="447700900000", to_number="447700900001", fb_sender_id="107084395103939",
                             fb_recipient_id="4520378454745113")
V1 = message_v1("messenger", "107084395103939", "4520378454745113", "Hi 'there' \"you\" $HOME `x` é",
                failover=[message_v1("sms", "447700900000", "447700900001", "by SMS")])
SENDS = [("/v0.1/dispatch", DISPATCH), ("/v1/messages", V1)]
# a run's hosts by kind: Vonage's Python SDK speaks https only, nexmo speaks https on 443 only
RUN_HOSTS = {"curl": "http://127.0.0.1:8765", "node": "http://127.0.0.1:8765", "python-sdk": "https://127.0.0.1:9443"}


@pytest.fixture(scope="module")
def runner():
    """``tools/twins.py`` as a module (it imports ``tools/recorder.py`` as ``recorder``)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import twins as module
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return module


@pytest.mark.parametrize(("path", "body"), SENDS)
def test_every_send_has_a_curl_a_node_and_a_python_twin_addressed_to_vonage(path, body):
    twins = twins_of(path, body)
    assert [t.kind for t in twins] == list(KINDS)
    for twin in twins:
        assert twin.text.count(twin.host) == 1, twin.kind
        assert "nexmo.com" in twin.host and "127.0.0.1" not in twin.text
        assert "Not confirmed" not in twin.text


@pytest.mark.parametrize(("path", "body"), SENDS)
def test_a_twin_is_a_function_of_the_body_and_the_host_and_the_host_is_all_that_changes(path, body):
    for shown in twins_of(path, body):
        (again,) = twins_of(path, json.loads(json.dumps(body)), kinds=(shown.kind,))
        assert again == shown
        (moved,) = twins_of(path, body, RUN_HOSTS[shown.kind], kinds=(shown.kind,))
        assert moved.host != shown.host and moved.text == shown.text.replace(shown.host, moved.host)
    other = {**body, "to" if path == "/v1/messages" else "template": "changed"}
    assert all(a.text != b.text for a, b in zip(twins_of(path, body), twins_of(path, other), strict=True))


def test_each_library_is_pointed_at_another_host_the_way_it_takes_one():
    assert sdk_twins.nexmo_options("https://api.nexmo.com") == '{ apiHost: "api.nexmo.com" }'
    assert sdk_twins.nexmo_options("http://127.0.0.1:8765") == '{ apiHost: "127.0.0.1", port: 8765 }'
    with pytest.raises(ValueError, match="443"):
        sdk_twins.nexmo_options("https://127.0.0.1:9443")
    assert sdk_twins.python_sdk_host("https://127.0.0.1:9443") == "127.0.0.1:9443"
    with pytest.raises(ValueError, match="https"):
        sdk_twins.python_sdk_host("http://127.0.0.1:8765")
    assert 'apiHost: "http://127.0.0.1:8765"' in sdk_twins.node_messages_twin(V1, "http://127.0.0.1:8765")
    with pytest.raises(ValueError, match="base URL"):
        twins_of("/v1/messages", V1, "api.nexmo.com")


def test_the_python_twins_compile_and_carry_the_body_as_sent():
    for path, body in SENDS:
        (twin,) = twins_of(path, body, kinds=("python-sdk",))
        compile(twin.text, twin.kind, "exec")
    dispatch = twins_of("/v0.1/dispatch", DISPATCH, kinds=("python-sdk",))[0].text
    namespace: dict = {}
    exec(re.search(r"^body = .*?^}$", dispatch, re.S | re.M).group(0), namespace)
    assert namespace["body"] == DISPATCH


def test_the_python_sdk_twin_says_how_the_sdk_really_serialises_failover_and_pins_it():
    text = twins_of("/v1/messages", V1, kinds=("python-sdk",))[0].text
    assert "merges failover flat" in text and '"vonage>=4.5" "vonage-messages>=1.5"' in text
    assert 'HttpClientOptions(api_host="api.nexmo.com"),  # a host name: the SDK always uses https://' in text
    assert "failover=[\n        Sms(" in text and "from_='447700900000'" in text
    assert "{'message'" not in text and '"message":' not in text
    # a channel this twin has no class for: no Python SDK twin, rather than a wrong one
    image = {**V1, "message_type": "image", "image": {"url": "https://example.com/a.jpg"}}
    assert [t.kind for t in twins_of("/v1/messages", image)] == ["curl", "node"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(("path", "body"), SENDS)
def test_the_node_twins_are_valid_javascript(path, body, tmp_path):
    (twin,) = twins_of(path, body, kinds=("node",))
    program = tmp_path / "twin.js"
    program.write_text(twin.text)
    subprocess.run(["node", "--check", str(program)], check=True, capture_output=True, timeout=30)


def test_the_node_twins_name_the_versions_of_the_lockfile_and_the_python_pin_is_the_test_extras():
    lock = json.loads((ROOT / "tools" / "node" / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/nexmo"]["version"] == sdk_twins.NEXMO.version
    assert lock["node_modules/@vonage/server-sdk"]["version"] == sdk_twins.SERVER_SDK.version
    assert "nexmo.dispatch" in twins_of("/v0.1/dispatch", DISPATCH)[1].text
    assert "deprecated" in twins_of("/v0.1/dispatch", DISPATCH)[1].label
    extra = (ROOT / "pyproject.toml").read_text()
    assert '"vonage>=4.5"' in extra and '"vonage-messages>=1.5"' in extra


def test_twins_render_every_twin_as_text_and_html_and_as_tabs():
    from fbfailover.widgets import TwinTabs

    twins = Twins("this notebook sent it to the sandbox", twins_of("/v1/messages", V1))
    assert twins["node"].kind == "node"
    with pytest.raises(KeyError, match="kinds: curl, node, python-sdk"):
        twins["java"]
    text, page = twins.text(), twins.html()
    for twin in twins:
        assert twin.label in text and twin.text.splitlines()[-1] in text
    assert "&quot;" in page and "$HOME" in page and "<script" not in page
    tabs = TwinTabs(twins)
    assert tabs.tabs.titles == ("curl", "Node", "Python")
    bundle = tabs._repr_mimebundle_()
    assert bundle["text/plain"] == text and bundle["text/html"] == page
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_run_text_refuses_a_twin_that_names_its_host_twice(runner):
    (case,) = [c for c in runner.cases(("curl",)) if c.send == "dispatch"]
    text = case.twin.text + "\n# " + case.twin.host
    twice = dataclasses.replace(case, twin=dataclasses.replace(case.twin, text=text))
    with pytest.raises(runner.TwinFailed, match="2 times"):
        runner.run_text(twice, RUN_HOSTS)


@pytest.mark.slow
def test_a_twin_broken_on_purpose_fails_the_run(runner, capsys):
    """Good twins pass and each broken one fails, in one run against one sandbox: the runner can fail."""
    by = {(c.send, c.kind): c for c in runner.cases()}
    good = by[("dispatch", "curl")]
    python = by[("dispatch", "python-sdk")]
    # what exchange.py used to claim the Python SDK sends: the message and the failover list side by side
    nested = dataclasses.replace(python, twin=dataclasses.replace(python.twin, text=python.twin.text.replace(
        "json=body,", 'json={"message": body["workflow"][0], "failover": body["workflow"][1:]},')))
    # a twin whose comments state a header its library does not send
    wrong_fact = dataclasses.replace(python, twin=dataclasses.replace(
        python.twin, library=dataclasses.replace(python.twin.library, accept="application/json")))
    # a valid request, but not the one the notebook describes: the SMS is left out
    v1 = by[("v1 failover", "curl")]
    dropped = dataclasses.replace(v1, twin=dataclasses.replace(v1.twin, text=re.sub(
        r',\n  "failover": \[.*\n  \]', "", v1.twin.text, flags=re.S)))
    assert dropped.twin.text != v1.twin.text
    # step 03's token twins: a good one; one that mints a token Vonage refuses (exp 10 s after iat); one whose
    # command mints another lifetime than the one its text shows elsewhere (the default, 900 s)
    token = by[("jwt", "python-sdk")]
    short = dataclasses.replace(token, edit=lambda text: text.replace(f'"exp": now + {runner.TOKEN_TTL}',
                                                                      '"exp": now + 10'))
    lifetime = dataclasses.replace(by[("jwt", "curl")], edit=lambda text: text.replace(
        f" --ttl {runner.TOKEN_TTL}", ""))
    selected = [good, nested, wrong_fact, dropped, token, short, lifetime]
    if shutil.which("node") and runner.node_problem() is None:
        node = by[("v1 failover", "node")]
        selected.append(dataclasses.replace(node, twin=dataclasses.replace(
            node.twin, text=node.twin.text.replace("vonage.messages.send(", "vonage.messages.sendd("))))
        # @vonage/jwt takes the key itself: a path where the key should be is refused before any request
        selected.append(dataclasses.replace(by[("jwt", "node")], edit=lambda text: re.sub(
            r'readFileSync\(("[^"]*")\)', r"\1", text)))

    assert runner.main([], selected=selected) == 1
    # one line per twin run (and the summary); a note such as "node twins skipped: ..." is not a result
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("ok ", "FAIL ", "twins_run="))]
    assert lines[-1] == f"twins_run={len(selected)} twins_ok=2 kinds=" + ",".join(
        k for k in KINDS if any(c.kind == k for c in selected))
    assert lines[0].startswith("ok   curl       dispatch")
    assert lines[1].startswith("FAIL python-sdk dispatch")
    assert 'another body than the notebook\'s: {"message"' in lines[1]
    assert "does not do what its twin says: Accept '*/*', not 'application/json'" in lines[2]
    assert "the sandbox saw another body" in lines[3]
    assert lines[4].startswith("ok   python-sdk jwt") and f"exp - iat = {runner.TOKEN_TTL} s" in lines[4]
    assert lines[5].startswith("FAIL python-sdk jwt") and "answered 401" in lines[5] and "refused the token" in lines[5]
    assert lines[6].startswith("FAIL curl       jwt")
    assert f"exp - iat = 900 s, not the {runner.TOKEN_TTL} s shown" in lines[6]
    if len(selected) == 9:
        assert lines[7].startswith("FAIL node") and "exit status 1" in lines[7]
        assert lines[8].startswith("FAIL node       jwt") and "0 requests reached the sandbox" in lines[8]


def test_the_runs_sandbox_takes_secrets_that_start_with_a_dash(runner, monkeypatch, tmp_path):
    """``token_urlsafe`` starts a secret with ``-`` once in 64: passed as its own argument, argparse took it for an
    option and the run failed now and then."""
    made = iter(["-" + "s" * 15, "-" + "g" * 21])
    monkeypatch.setattr(runner.secrets, "token_urlsafe", lambda n=None: next(made))
    with runner.sandbox(tmp_path) as box:
        assert box.api_secret.startswith("-")


def test_without_node_the_node_twins_are_skipped_with_a_line_saying_how_to_enable_them(runner, monkeypatch):
    real = shutil.which
    monkeypatch.setattr(runner.shutil, "which", lambda name: None if name == "node" else real(name))
    why = runner.node_problem()
    assert why.startswith("node twins skipped:") and "Node.js 20" in why and "make twins" in why
    assert "\n" not in why


def test_the_curl_twin_shortens_a_public_key_and_says_so(rsa_key):
    from types import SimpleNamespace

    from fbfailover.keys import public_pem
    from fbfailover.payloads import Request
    from fbfailover.tutorial.twins import curl_twin

    pem = public_pem(rsa_key)
    body = {"name": "app", "keys": {"public_key": pem}}
    request = Request("POST", "https://api.nexmo.com/v2/applications", {}, json=body, auth="basic")
    label, command = curl_twin(SimpleNamespace(offline=False), request)
    assert "public key is shortened, as tokens are" in label and "openssl rsa -in private.key -pubout" in label
    assert "-----BEGIN PUBLIC KEY-----\\n" + pem.splitlines()[1][:12] + "…\\n-----END PUBLIC KEY-----" in command
    assert pem.splitlines()[1] not in command and body["keys"]["public_key"] == pem  # the request is unchanged
    plain = Request("POST", "https://api.nexmo.com/v2/applications", {}, json={"name": "app"}, auth="basic")
    assert "shortened" not in curl_twin(SimpleNamespace(offline=False), plain)[0]


APP_ID = "64821fa7-6495-492e-90b0-5c15b6b6a4ac"


def test_the_token_twins_are_a_function_of_the_learners_token_and_the_host_and_name_only_the_key_file():
    from fbfailover.tutorial.twins import token_twins_of

    twins = token_twins_of(APP_ID, "private.key", 900)
    assert [t.kind for t in twins] == list(KINDS)
    assert [t.library.name for t in twins] == ["fbfailover jwt", "@vonage/jwt", "vonage-jwt"]
    for twin in twins:
        assert twin.text.count(twin.host) == 1 and "nexmo.com" in twin.host, twin.kind
        assert APP_ID in twin.text and "private.key" in twin.text and "PRIVATE KEY" not in twin.text
        assert "Not confirmed" not in twin.text and "/v0.1/dispatch" in twin.text
        (again,) = token_twins_of(APP_ID, "private.key", 900, kinds=(twin.kind,))
        assert again == twin
        (moved,) = token_twins_of(APP_ID, "private.key", 900, RUN_HOSTS["curl"], kinds=(twin.kind,))
        assert moved.text == twin.text.replace(twin.host, moved.host) and moved.host != twin.host
    for other in (("0a1b2c3d-0000-4000-8000-000000000000", "private.key", 900), (APP_ID, "keys/app.key", 900),
                  (APP_ID, "private.key", 300)):
        assert all(a.text != b.text for a, b in zip(twins, token_twins_of(*other), strict=True)), other
    acl = {"paths": {"/*/messages/**": {}}}
    with_acl = token_twins_of(APP_ID, "private.key", 900, acl=acl)
    assert "--acl '{\"paths\":{\"/*/messages/**\":{}}}'" in with_acl[0].text
    assert 'acl: {\n    paths: {\n      "/*/messages/**": {},' in with_acl[1].text
    assert "\"acl\": {'paths': {'/*/messages/**': {}}}" in with_acl[2].text


def test_the_token_twins_say_how_each_library_takes_the_lifetime_and_the_key():
    from fbfailover.tutorial.twins import token_twins_of

    shell, node, python = token_twins_of(APP_ID, "private.key", 300)
    assert f"JWT=$(fbfailover jwt --application-id {APP_ID} --private-key private.key --ttl 300)" in shell.text
    assert '-H "Authorization: Bearer $JWT"' in shell.text and "nexmo-cli, which is deprecated" in shell.text
    assert "vonage jwt create" in shell.text
    assert 'tokenGenerate("' + APP_ID + '", readFileSync("private.key"), {\n  ttl: 300,\n});' in node.text
    assert "leave DEBUG unset" in node.text
    assert f"JwtClient('{APP_ID}', 'private.key')" in python.text
    assert 'generate_application_jwt({"iat": now, "exp": now + 300}).decode()' in python.text
    compile(python.text, "python", "exec")
    # vonage-jwt takes a str without a suffix as the PEM itself: such a file is read by the program
    (bare,) = token_twins_of(APP_ID, "secrets/app_key", 300, kinds=("python-sdk",))
    assert "JwtClient('" + APP_ID + "', Path('secrets/app_key').read_text())" in bare.text
    compile(bare.text, "python", "exec")


@pytest.mark.parametrize("ttl", [29, 86_401, 0, True, "900"])
def test_a_token_twin_never_shows_a_lifetime_vonage_refuses(ttl):
    from fbfailover.tutorial.twins import token_twins_of

    with pytest.raises(ValueError, match="30 s to 24 h"):
        token_twins_of(APP_ID, "private.key", ttl)
    assert token_twins_of(APP_ID, "private.key", 30) and token_twins_of(APP_ID, "private.key", 86_400)
    with pytest.raises(ValueError, match="base URL"):
        token_twins_of(APP_ID, "private.key", 900, "api.nexmo.com")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_node_token_twin_is_valid_javascript(tmp_path):
    from fbfailover.tutorial.twins import token_twins_of

    (twin,) = token_twins_of(APP_ID, "private.key", 900, acl={"paths": {"/*/users/**": {}}}, kinds=("node",))
    program = tmp_path / "token.js"
    program.write_text(twin.text)
    subprocess.run(["node", "--check", str(program)], check=True, capture_output=True, timeout=30)


def test_the_node_token_twin_names_the_lockfiles_direct_dependency_and_the_python_one_the_test_extras():
    from fbfailover.tutorial.token_twins import NODE_JWT, PYTHON_JWT

    package = json.loads((ROOT / "tools" / "node" / "package.json").read_text())
    lock = json.loads((ROOT / "tools" / "node" / "package-lock.json").read_text())["packages"]
    assert package["dependencies"]["@vonage/jwt"] == lock["node_modules/@vonage/jwt"]["version"] == NODE_JWT.version
    assert f'"vonage-jwt{PYTHON_JWT.version}"' in (ROOT / "pyproject.toml").read_text()


def test_the_token_twins_of_a_minted_token_name_the_key_file_as_the_project_does(tmp_path, rsa_key):
    from types import SimpleNamespace

    from fbfailover.keys import save_private_key
    from fbfailover.tokens import decode_for_display, mint_application_jwt
    from fbfailover.tutorial.twins import token_twins

    key = save_private_key(rsa_key, tmp_path / "private.key")
    token = mint_application_jwt(APP_ID, key, ttl=120, acl={"paths": {"/*/users/**": {}}})
    settings = SimpleNamespace(private_key_path=str(key), api_url="http://127.0.0.1:8765")
    settings.require = lambda *names: settings
    tut = SimpleNamespace(settings=settings, env_file=tmp_path / ".env", offline=True)
    twins = token_twins(tut, {"token": token, **decode_for_display(token)})
    assert [t.kind for t in twins] == list(KINDS) and twins.title == "The same token, outside this notebook"
    assert "key file private.key, lifetime 120 s, with its acl" in twins.note
    assert "put http://127.0.0.1:8765 in its place" in twins.note
    assert "--private-key private.key --ttl 120 --acl" in twins["curl"].text
    assert token not in twins.text() and str(tmp_path) not in twins.text()
    elsewhere = SimpleNamespace(settings=settings, env_file=tmp_path / "project" / ".env", offline=False)
    assert f"--private-key {key}" in token_twins(elsewhere, {"token": token, **decode_for_display(token)})[
        "curl"].text
