"""``.env`` values are one line: every separator ``str.splitlines`` honours is refused with a ``ConfigError``, and a
refused update leaves the file exactly as it was (the last link of the forged-inbound chain)."""

from __future__ import annotations

import pytest
from dotenv import dotenv_values

from fbfailover.config import LINE_SEPARATORS, check_env_update, load_settings, update_env_file
from fbfailover.errors import ConfigError

ORIGINAL = "# my settings\nVONAGE_API_KEY=key\nVONAGE_API_URL=https://api.nexmo.com\nFB_SENDER_ID=1\n"


def test_the_separators_are_exactly_those_of_splitlines():
    every = [chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1]
    assert sorted(every) == sorted(LINE_SEPARATORS)


@pytest.mark.parametrize("separator", list(LINE_SEPARATORS), ids=lambda c: f"U+{ord(c):04X}")
def test_every_line_separator_is_refused_and_the_file_is_unchanged(tmp_path, separator):
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    forged = f"999{separator}VONAGE_API_URL=http://attacker.example/{separator}X=1"
    with pytest.raises(ConfigError, match=r"FB_RECIPIENT_ID holds a line separator .*nothing was saved"):
        update_env_file({"FB_SENDER_ID": "2", "FB_RECIPIENT_ID": forged}, env)
    assert env.read_text() == ORIGINAL  # not even the valid update of the same call was written
    assert load_settings({}, env_file=env).api_url == "https://api.nexmo.com"


@pytest.mark.parametrize("value", ["a\x00b", "a\x1bb", "a\x7fb", "a\u200bb"])
def test_other_control_characters_are_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="control character"):
        update_env_file({"FB_SENDER_ID": value}, tmp_path / ".env")
    assert not (tmp_path / ".env").exists()


@pytest.mark.parametrize(("name", "value", "match"), [
    ("VONAGE_API_URL", "ftp://attacker.example", "VONAGE_API_URL must be an http"),
    ("FBFAILOVER_RECEIVER_PORT", "99999", "FBFAILOVER_RECEIVER_PORT must be a TCP port"),
    ("FBFAILOVER_ATTENDEE_NAME", "x" * 41, "FBFAILOVER_ATTENDEE_NAME must be at most"),
    ("BAD NAME", "1", "is not a setting name"),
    ("FB_SENDER_ID", 5, "must be text"),
])
def test_settings_load_settings_checks_are_checked_before_saving(tmp_path, name, value, match):
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    with pytest.raises(ConfigError, match=match):
        update_env_file({name: value}, env)
    assert env.read_text() == ORIGINAL


def test_a_separator_already_inside_a_line_stays_inside_it(tmp_path):
    """The file is read back as python-dotenv reads it, so a form feed a hand edit left in a comment never becomes
    a line break (and a new setting) when another name is saved."""
    env = tmp_path / ".env"
    env.write_text("# a comment\fVONAGE_API_URL=http://attacker.example\nVONAGE_API_KEY=k\r\n")
    update_env_file({"VONAGE_API_KEY": "new"}, env)
    assert env.read_text() == "# a comment\fVONAGE_API_URL=http://attacker.example\nVONAGE_API_KEY=new\n"
    assert dotenv_values(env) == {"VONAGE_API_KEY": "new"}


def test_plain_and_quoted_values_still_round_trip(tmp_path):
    env = tmp_path / ".env"
    values = {"FB_SENDER_ID": "107", "FBFAILOVER_ATTENDEE_NAME": 'Zoë "Z" \\ Ng', "VONAGE_API_URL": "http://x:1/y"}
    update_env_file(values, env)
    assert dotenv_values(env) == values
    assert check_env_update("FB_SENDER_ID", None) is None
