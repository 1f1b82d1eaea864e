"""Settings precedence, .env discovery, secrets masking, update_env_file and data_dir."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from fbfailover.config import (
    DEFAULT_API_URL,
    DEFAULT_REST_URL,
    Settings,
    data_dir,
    describe_api_url,
    find_env_file,
    is_loopback_url,
    load_settings,
    project_dir,
    update_env_file,
)
from fbfailover.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_setting(tmp_path):
    s = load_settings(environ={}, cwd=tmp_path)
    assert s.api_key is None and s.application_id is None and s.env_file is None
    assert s.api_url == DEFAULT_API_URL and s.rest_url == DEFAULT_REST_URL and s.sandbox_url is None


def test_environment_wins_over_env_file(tmp_path):
    env = write(tmp_path / ".env", "VONAGE_API_KEY=from-file\nVONAGE_API_SECRET=file-secret\n")
    s = load_settings(environ={"VONAGE_API_KEY": "from-env"}, env_file=env)
    assert s.api_key == "from-env"
    assert s.api_secret == "file-secret"
    assert s.env_file == env.resolve()


def test_vonage_name_wins_over_nexmo_twin(tmp_path):
    env = write(tmp_path / ".env", "NEXMO_APPLICATION_ID=old\nVONAGE_APPLICATION_ID=new\nNEXMO_API_KEY=k\n")
    s = load_settings(environ={"NEXMO_API_SECRET": "a", "VONAGE_API_SECRET": "b"}, env_file=env)
    assert s.application_id == "new"
    assert s.api_key == "k"
    assert s.api_secret == "b"


def test_empty_values_count_as_unset(tmp_path):
    env = write(tmp_path / ".env", "VONAGE_API_KEY=from-file\nFROM_NUMBER=\n")
    s = load_settings(environ={"VONAGE_API_KEY": "", "NEXMO_API_KEY": ""}, env_file=env)
    assert s.api_key == "from-file"
    assert s.from_number is None


def test_env_file_is_found_upward_from_a_subfolder(tmp_path):
    write(tmp_path / "pyproject.toml", "")
    env = write(tmp_path / ".env", "FB_SENDER_ID=page-1\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    assert find_env_file(notebooks) == env.resolve()
    s = load_settings(environ={}, cwd=notebooks)
    assert s.fb_sender_id == "page-1"
    assert s.env_file == env.resolve()


def test_upward_search_stops_at_the_project_root(tmp_path):
    write(tmp_path / ".env", "FB_SENDER_ID=someone-else\n")
    project = tmp_path / "project"
    write(project / "pyproject.toml", "")
    (project / "sub").mkdir()
    assert find_env_file(project / "sub") is None
    assert load_settings(environ={}, cwd=project).fb_sender_id is None


def test_fbfailover_env_file_replaces_the_search(tmp_path):
    write(tmp_path / "pyproject.toml", "")
    write(tmp_path / ".env", "FB_SENDER_ID=searched\n")
    chosen = write(tmp_path / "elsewhere" / "test.env", "FB_SENDER_ID=chosen\n")
    s = load_settings(environ={"FBFAILOVER_ENV_FILE": str(chosen)}, cwd=tmp_path)
    assert s.fb_sender_id == "chosen"
    missing = load_settings(environ={"FBFAILOVER_ENV_FILE": str(tmp_path / "nope.env")}, cwd=tmp_path)
    assert missing.fb_sender_id is None and missing.env_file is None


def test_relative_private_key_path_is_relative_to_the_env_file(tmp_path):
    env = write(tmp_path / "proj" / ".env", "VONAGE_PRIVATE_KEY_PATH=keys/private.key\n")
    s = load_settings(environ={}, env_file=env, cwd=tmp_path)
    assert s.private_key_path == str((tmp_path / "proj" / "keys" / "private.key").resolve())


def test_relative_private_key_path_from_environment_is_relative_to_cwd(tmp_path):
    s = load_settings(environ={"VONAGE_PRIVATE_KEY_PATH": "private.key"}, cwd=tmp_path)
    assert s.private_key_path == str((tmp_path / "private.key").resolve())


def test_sandbox_url_is_the_default_for_both_hosts(tmp_path):
    s = load_settings(environ={"FBFAILOVER_SANDBOX_URL": "http://127.0.0.1:8765/"}, cwd=tmp_path)
    assert s.sandbox_url == s.api_url == s.rest_url == "http://127.0.0.1:8765"
    s = load_settings(environ={"FBFAILOVER_SANDBOX_URL": "http://127.0.0.1:8765",
                               "VONAGE_API_URL": "https://api.example.test"}, cwd=tmp_path)
    assert s.api_url == "https://api.example.test" and s.rest_url == "http://127.0.0.1:8765"


def test_a_malformed_url_names_its_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"VONAGE_API_URL must be an http\(s\) URL") as info:
        load_settings(environ={"VONAGE_API_URL": "api.nexmo.com"}, cwd=tmp_path)
    assert isinstance(info.value, ValueError)


def test_load_settings_never_touches_os_environ(tmp_path, monkeypatch):
    env = write(tmp_path / ".env", "VONAGE_API_KEY=file-key\n")
    monkeypatch.setenv("FBFAILOVER_ENV_FILE", str(env))
    before = dict(os.environ)
    assert load_settings().api_key == "file-key"
    assert dict(os.environ) == before


def test_repr_masks_secrets():
    s = Settings(api_key="key123", api_secret="supersecretvalue", signature_secret="short")
    text = repr(s)
    assert "supersecretvalue" not in text and "short" not in text
    assert "api_secret='su…'" in text and "signature_secret='***'" in text
    assert "api_key='key123'" in text


def test_settings_are_frozen_and_replace_returns_a_copy():
    s = Settings(api_key="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.api_key = "b"  # type: ignore[misc]
    t = s.replace(api_key="b", api_url="http://127.0.0.1:1")
    assert (s.api_key, t.api_key, t.api_url) == ("a", "b", "http://127.0.0.1:1")
    with pytest.raises(TypeError):
        s.replace(nope=1)


def test_require_names_every_missing_variable_and_the_example_file():
    s = Settings(api_key="a")
    assert s.require("api_key") is s
    with pytest.raises(ConfigError) as info:
        s.require("api_key", "api_secret", "application_id")
    text = str(info.value)
    assert "VONAGE_API_SECRET, VONAGE_APPLICATION_ID" in text and ".env.example" in text
    assert "VONAGE_API_KEY" not in text
    with pytest.raises(ConfigError, match="unknown setting"):
        s.require("colour")


@pytest.mark.parametrize(("url", "live"), [
    ("https://api.nexmo.com", True),
    ("http://127.0.0.1:8000", False),
    ("http://localhost:8000", False),
    ("http://[::1]:8000", False),
])
def test_has_live_credentials(url, live):
    assert Settings(api_key="k", api_secret="s", api_url=url).has_live_credentials is live
    assert Settings(api_key="k", api_url=url).has_live_credentials is False
    assert is_loopback_url(url) is not live


@pytest.mark.parametrize("name", ["VONAGE_API_URL", "VONAGE_REST_URL"])
def test_an_explicit_loopback_url_with_credentials_is_live(tmp_path, name):
    env = {"VONAGE_API_KEY": "k", "VONAGE_API_SECRET": "s", name: "http://127.0.0.1:8123"}
    settings = load_settings(env, cwd=tmp_path)
    assert settings.explicit_api_url and settings.has_live_credentials
    assert load_settings({"VONAGE_API_KEY": "k", "VONAGE_API_SECRET": "s"}, cwd=tmp_path).explicit_api_url is False


@pytest.mark.parametrize(("url", "said"), [
    ("https://api.nexmo.com", "Vonage's live API — real messages, real money"),
    ("https://rest.nexmo.com", "Vonage's live API — real messages, real money"),
    ("https://api-eu.vonage.com", "Vonage's live API — real messages, real money"),
    ("http://127.0.0.1:8000", "a local address — not Vonage"),
    ("http://192.168.1.20:8000", "a local address — not Vonage"),
    ("http://localhost:8000", "a local address — not Vonage"),
    ("https://nexmo.com.example.org", "a server that is not Vonage's"),
])
def test_describe_api_url_says_what_answers(url, said):
    assert describe_api_url(url) == said


@pytest.mark.parametrize(("value", "port"), [(None, 3000), ("8080", 8080)])
def test_the_receiver_port_defaults_to_the_tutorials_3000(tmp_path, value, port):
    env = {"FBFAILOVER_RECEIVER_PORT": value} if value else {}
    assert load_settings(env, cwd=tmp_path).receiver_port == port


@pytest.mark.parametrize("value", ["0", "70000", "http"])
def test_a_bad_receiver_port_names_the_setting(tmp_path, value):
    with pytest.raises(ConfigError, match="FBFAILOVER_RECEIVER_PORT"):
        load_settings({"FBFAILOVER_RECEIVER_PORT": value}, cwd=tmp_path)


def test_update_env_file_keeps_other_lines_and_comments(tmp_path):
    env = write(tmp_path / ".env", "# my settings\nVONAGE_API_KEY=old\n\nexport FROM_NUMBER=447700900000\n"
                                   "TO_NUMBER=1\n# trailing comment\nTO_NUMBER=2\n")
    update_env_file({"VONAGE_API_KEY": "new", "FROM_NUMBER": None, "TO_NUMBER": "447700900001",
                     "VONAGE_APPLICATION_ID": "app-1"}, env)
    assert env.read_text() == ("# my settings\nVONAGE_API_KEY=new\n\nTO_NUMBER=447700900001\n"
                               "# trailing comment\nVONAGE_APPLICATION_ID=app-1\n")


def test_update_env_file_quotes_values_that_need_it(tmp_path):
    env = tmp_path / ".env"
    tricky = 'a b#c"d\\e'
    update_env_file({"FB_SENDER_ID": tricky, "VONAGE_API_URL": "http://127.0.0.1:8/x"}, env)
    assert dotenv_values(env) == {"FB_SENDER_ID": tricky, "VONAGE_API_URL": "http://127.0.0.1:8/x"}


def test_update_env_file_creates_and_keeps_mode_0600(tmp_path):
    env = tmp_path / "new" / ".env"
    update_env_file({"VONAGE_API_SECRET": "s"}, env)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    env.chmod(0o644)
    update_env_file({"VONAGE_API_SECRET": "t"}, env)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert dotenv_values(env) == {"VONAGE_API_SECRET": "t"}
    assert [p.name for p in env.parent.iterdir()] == [".env"]  # no temporary file left behind


def test_update_env_file_default_path_is_fbfailover_env_file(isolated_settings):
    written = update_env_file({"VONAGE_API_KEY": "k"})
    assert written == isolated_settings / ".env"
    assert load_settings().api_key == "k"


def test_data_dir_locations(tmp_path, monkeypatch):
    assert data_dir({"FBFAILOVER_DATA_DIR": str(tmp_path / "d")}) == tmp_path / "d"
    env = write(tmp_path / "a" / ".env", "")
    assert data_dir({"FBFAILOVER_ENV_FILE": str(env)}) == tmp_path / "a" / ".fbfailover"
    write(tmp_path / "proj" / "pyproject.toml", "")
    (tmp_path / "proj" / "notebooks").mkdir()
    assert data_dir({}, cwd=tmp_path / "proj" / "notebooks") == (tmp_path / "proj" / ".fbfailover").resolve()
    monkeypatch.chdir(tmp_path)
    assert data_dir({}) == tmp_path.resolve() / ".fbfailover"


def test_project_dir(tmp_path):
    env = write(tmp_path / "p" / ".env", "")
    assert project_dir(load_settings(environ={}, env_file=env)) == env.resolve().parent
    write(tmp_path / "q" / "pyproject.toml", "")
    assert project_dir(None, cwd=tmp_path / "q") == (tmp_path / "q").resolve()


def test_is_setting_knows_every_name_read_and_nothing_else():
    from fbfailover.config import ENV_NAMES, is_setting

    for names in ENV_NAMES.values():
        assert all(is_setting(name) for name in names)
    assert is_setting("FBFAILOVER_ENV_FILE") and is_setting("FBFAILOVER_DATA_DIR")
    assert not is_setting("PATH") and not is_setting("HOME")
