"""The fbfailover command: output, exit codes (0 ok, 1 API/transport, 2 bad input), defaults from settings."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from fbfailover.cli import main
from fbfailover.config import update_env_file
from fbfailover.keys import generate_private_key, private_pem, public_pem
from fbfailover.tokens import verify_application_jwt

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def sandbox_env(api_server, key_file, isolated_settings):
    """A .env (the test's own) pointing at the recording server, with credentials and tutorial ids."""
    update_env_file({"FBFAILOVER_SANDBOX_URL": api_server.url, "VONAGE_API_KEY": "key123",
                     "VONAGE_API_SECRET": "secret456", "VONAGE_APPLICATION_ID": APP_ID,
                     "VONAGE_PRIVATE_KEY_PATH": str(key_file), "FROM_NUMBER": "447700900000",
                     "TO_NUMBER": "447700900001", "FB_SENDER_ID": "page-1", "FB_RECIPIENT_ID": "psid-1"})
    return isolated_settings / ".env"


# --- jwt -------------------------------------------------------------------------------------------

def test_jwt_prints_only_a_verifiable_token(capsys, key_file, public_key):
    code, out, err = run(capsys, "jwt", "--application-id", APP_ID, "--private-key", str(key_file),
                         "--ttl", "60")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    claims = verify_application_jwt(out.strip(), public_key)
    assert claims["application_id"] == APP_ID and claims["exp"] - claims["iat"] == 60


def test_jwt_acl_and_claims(capsys, key_file, public_key):
    code, out, _ = run(capsys, "jwt", "--application-id", APP_ID, "--private-key", str(key_file),
                       "--acl", '{"paths": {"/*/users/**": {}}}', "--claim", "sub=alice",
                       "--claim", "level=5")
    claims = verify_application_jwt(out.strip(), public_key)
    assert code == 0
    assert (claims["sub"], claims["level"], claims["acl"]) == ("alice", 5, {"paths": {"/*/users/**": {}}})


def test_jwt_defaults_come_from_the_settings(capsys, sandbox_env, public_key):
    code, out, _ = run(capsys, "jwt")
    assert code == 0 and verify_application_jwt(out.strip(), public_key)["application_id"] == APP_ID


@pytest.mark.parametrize(("argv", "message"), [
    (["--ttl", "100000"], "from 30 s to 24 h (86400 s)"),
    (["--ttl", "0"], "from 30 s to 24 h (86400 s)"),
    (["--acl", "{nope"], "--acl must be JSON"),
    (["--claim", "novalue"], "--claim must look like name=value"),
])
def test_jwt_bad_input_exits_2_with_one_line(capsys, key_file, argv, message):
    code, out, err = run(capsys, "jwt", "--application-id", APP_ID, "--private-key", str(key_file), *argv)
    assert (code, out) == (2, "")
    assert message in one_error_line(err)


def test_jwt_missing_settings_and_key(capsys, tmp_path, key_file):
    code, _, err = run(capsys, "jwt", "--private-key", str(key_file))
    assert code == 2 and "VONAGE_APPLICATION_ID" in one_error_line(err) and ".env.example" in err
    code, _, err = run(capsys, "jwt", "--application-id", APP_ID, "--private-key", str(tmp_path / "none.key"))
    assert code == 2 and "private key file not found" in one_error_line(err)
    (tmp_path / "junk.key").write_text("junk")
    code, _, err = run(capsys, "jwt", "--application-id", APP_ID, "--private-key", str(tmp_path / "junk.key"))
    assert code == 2 and "not a PEM private key" in one_error_line(err)


def test_usage_errors_and_help(capsys):
    assert main(["jwt", "--ttl", "soon"]) == 2
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert main(["app"]) == 2
    out, _ = capsys.readouterr()
    assert "jwt" in out and "sandbox" in out and "receiver" in out


def _module(*argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VONAGE_", "NEXMO_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "fbfailover", *argv], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def test_python_dash_m_prints_a_token_that_verifies(key_file, public_key):
    done = _module("jwt", "--application-id", APP_ID, "--private-key", str(key_file))
    assert done.returncode == 0, done.stderr
    assert verify_application_jwt(done.stdout.strip(), public_key)["application_id"] == APP_ID


def test_python_dash_m_refuses_a_ttl_over_24_hours(key_file):
    done = _module("jwt", "--application-id", APP_ID, "--private-key", str(key_file), "--ttl", "100000")
    assert done.returncode == 2 and done.stdout == ""
    assert "from 30 s to 24 h (86400 s)" in one_error_line(done.stderr)


# --- app create ---------------------------------------------------------------------------------------

def test_app_create_writes_the_generated_key_0600(capsys, api_server, sandbox_env, tmp_path):
    server_key = generate_private_key()
    api_server.script.append((201, {}, {"id": "app-9", "keys": {"public_key": public_pem(server_key),
                                                                "private_key": private_pem(server_key)}}, 0))
    keyfile = tmp_path / "generated.key"
    code, out, err = run(capsys, "app", "create", "My app", "--inbound-url", "https://x.test/inbound",
                         "--status-url", "https://x.test/status", "--keyfile", str(keyfile), "--save-env")
    assert (code, err) == (0, "")
    assert "application id: app-9" in out and str(keyfile) in out
    assert "PRIVATE KEY" not in out
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert keyfile.read_text() == private_pem(server_key)
    (seen,) = api_server.seen
    assert (seen["method"], seen["path"]) == ("POST", "/v2/applications")
    sent = json.loads(seen["body"])
    assert sent["name"] == "My app" and "keys" not in sent
    saved = dotenv_values(sandbox_env)
    assert saved["VONAGE_APPLICATION_ID"] == "app-9" and saved["VONAGE_PRIVATE_KEY_PATH"] == str(keyfile)


def test_app_create_with_own_public_key(capsys, api_server, sandbox_env, tmp_path, public_key):
    pub = tmp_path / "public.pem"
    pub.write_text(public_key)
    api_server.script.append((201, {}, {"id": "app-10", "keys": {"public_key": public_key}}, 0))
    code, out, _ = run(capsys, "app", "create", "Mine", "--inbound-url", "https://x.test/i",
                       "--status-url", "https://x.test/s", "--public-key-file", str(pub),
                       "--keyfile", str(tmp_path / "unused.key"))
    assert code == 0 and "app-10" in out and not (tmp_path / "unused.key").exists()
    assert json.loads(api_server.seen[0]["body"])["keys"] == {"public_key": public_key}


def test_app_create_refuses_to_overwrite_a_key_before_calling_the_api(capsys, api_server, sandbox_env,
                                                                       key_file):
    code, _, err = run(capsys, "app", "create", "x", "--inbound-url", "https://x.test/i",
                       "--status-url", "https://x.test/s", "--keyfile", str(key_file))
    assert code == 2 and "already exists" in one_error_line(err)
    assert api_server.seen == []


def test_app_create_bad_url_and_api_error(capsys, api_server, sandbox_env, tmp_path):
    code, _, err = run(capsys, "app", "create", "x", "--inbound-url", "not-a-url",
                       "--status-url", "https://x.test/s", "--keyfile", str(tmp_path / "k"))
    assert code == 2 and "inbound_url.address" in one_error_line(err)
    problem = {"title": "Unauthorized", "detail": "You did not provide correct credentials."}
    api_server.script.append((401, {}, problem, 0))
    code, _, err = run(capsys, "app", "create", "x", "--inbound-url", "https://x.test/i",
                       "--status-url", "https://x.test/s", "--keyfile", str(tmp_path / "k"))
    assert code == 1 and "401 Unauthorized" in one_error_line(err)


# --- send failover ----------------------------------------------------------------------------------

def test_send_failover_prints_the_dispatch_uuid(capsys, api_server, sandbox_env):
    api_server.script.append((202, {}, {"dispatch_uuid": "d-42"}, 0))
    code, out, err = run(capsys, "send", "failover", "--expiry", "60", "--text-sms", "SMS text")
    assert (code, out, err) == (0, "d-42\n", "")
    body = json.loads(api_server.seen[0]["body"])
    assert body["workflow"][0]["to"] == {"type": "messenger", "id": "psid-1"}
    assert body["workflow"][0]["failover"] == {"expiry_time": 60, "condition_status": "read"}
    assert body["workflow"][1]["message"]["content"]["text"] == "SMS text"
    assert api_server.seen[0]["headers"]["Authorization"].startswith("Bearer ")


def test_send_failover_options_override_settings(capsys, api_server, sandbox_env):
    run(capsys, "send", "failover", "--to-number", "447700900999", "--condition", "delivered",
        "--auth", "basic")
    body = json.loads(api_server.seen[0]["body"])
    assert body["workflow"][1]["to"]["number"] == "447700900999"
    assert body["workflow"][0]["failover"]["condition_status"] == "delivered"
    assert api_server.seen[0]["headers"]["Authorization"].startswith("Basic ")


def test_send_failover_curl_sends_nothing(capsys, api_server, sandbox_env):
    code, out, _ = run(capsys, "send", "failover", "--curl")
    assert code == 0 and '"Authorization: Bearer $JWT"' in out and api_server.seen == []


def test_send_failover_exit_codes(capsys, api_server, sandbox_env):
    code, _, err = run(capsys, "send", "failover", "--to-number", "+447700900001", "--expiry", "5")
    line = one_error_line(err)
    assert code == 2 and "workflow[0].failover.expiry_time" in line and "use 447700900001" in line
    api_server.script.append((400, {}, {"title": "Bad Request", "detail": "nope"}, 0))
    code, _, err = run(capsys, "send", "failover")
    assert code == 1 and "400 Bad Request: nope" in one_error_line(err)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    update_env_file({"FBFAILOVER_SANDBOX_URL": f"http://127.0.0.1:{port}"}, sandbox_env)
    code, _, err = run(capsys, "send", "failover")
    assert code == 1 and "is the sandbox running?" in one_error_line(err)


def test_send_failover_missing_setting(capsys, isolated_settings):
    code, _, err = run(capsys, "send", "failover", "--from-number", "447700900000")
    assert code == 2
    line = one_error_line(err)
    assert "TO_NUMBER, FB_SENDER_ID, FB_RECIPIENT_ID" in line and "FROM_NUMBER" not in line


# --- account restore-webhooks ----------------------------------------------------------------------

def test_account_restore_webhooks_shows_the_diff_and_asks_first(capsys, box, isolated_settings, shop):
    from fbfailover import tutorial

    update_env_file({"VONAGE_API_KEY": box.api_key, "VONAGE_API_SECRET": box.api_secret,
                     "VONAGE_API_URL": box.url, "VONAGE_REST_URL": box.url})
    tut = tutorial.connect()
    original = (f"{shop}/in", f"{shop}/dlr")  # a running server: the account API saves only URLs that answer
    tut.client.update_account_settings(*original)
    tut.start_receiver()
    try:
        tutorial.configure_account_webhooks(tut, confirm=True)
    finally:
        tut.receiver.stop()
    code, out, err = run(capsys, "account", "restore-webhooks")
    assert code == 1 and "Nothing was changed" in err
    assert f"{tut.receiver.inbound_sms_url} → {original[0]}" in out
    assert tut.client.account_settings()["mo-callback-url"] == tut.receiver.inbound_sms_url
    code, out, _ = run(capsys, "account", "restore-webhooks", "--yes")
    assert code == 0 and f"→ {original[1]}" in out and "Account webhooks restored" in out
    answer = tut.client.account_settings()
    assert (answer["mo-callback-url"], answer["dr-callback-url"]) == original
    code, out, _ = run(capsys, "account", "restore-webhooks", "--yes")
    assert code == 0 and out.startswith("Nothing to restore")
