"""The addresses ``fbfailover sandbox --workshop`` prints: one per interface, or the one ``--public-url``."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys

import requests

from fbfailover.sandbox.addresses import from_ip_json, interfaces, reachable_hosts, url_host
from fbfailover.sandbox.cli import join_instructions
from tests.sandbox.test_sandbox_standalone import ROOT, Standalone

ROOM = [
    ("lo", "127.0.0.1"),
    ("lo", "::1"),
    ("eth0", "192.168.1.20"),
    ("eth0", "fe80::1c2:3ff:fe44:5566%eth0"),
    ("eth0", "2001:db8::20"),
    ("wlan0", "10.0.0.7"),
    ("wlan0", "169.254.3.4"),
    ("wlan0", "192.168.1.20"),  # the same address twice is printed once
]

IP_JSON = json.dumps([
    {"ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"],
     "addr_info": [{"family": "inet", "local": "127.0.0.1", "scope": "host"}]},
    {"ifname": "eth0", "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
     "addr_info": [{"family": "inet", "local": "192.168.1.20", "scope": "global"},
                   {"family": "inet6", "local": "fe80::1", "scope": "link"}]},
    {"ifname": "eth1", "flags": ["BROADCAST", "MULTICAST"],  # down: unreachable
     "addr_info": [{"family": "inet", "local": "10.9.9.9", "scope": "global"}]},
    {"ifname": "can0", "flags": ["NOARP", "UP"]},  # no addresses at all
])


def test_every_interface_means_each_non_loopback_address():
    assert reachable_hosts("0.0.0.0", ROOM) == ["192.168.1.20", "10.0.0.7"]
    assert reachable_hosts("::", ROOM) == ["2001:db8::20"]  # tornado binds :: for IPv6 only
    assert reachable_hosts("", ROOM) == ["192.168.1.20", "2001:db8::20", "10.0.0.7"]
    assert reachable_hosts("192.168.1.20", ROOM) == ["192.168.1.20"]
    assert reachable_hosts("0.0.0.0", [("lo", "127.0.0.1"), ("x", "not-an-address")]) == []
    assert url_host("2001:db8::20") == "[2001:db8::20]" and url_host("10.0.0.7") == "10.0.0.7"


def test_ip_json_gives_the_addresses_of_interfaces_that_are_up():
    assert from_ip_json(IP_JSON) == [("lo", "127.0.0.1"), ("eth0", "192.168.1.20"), ("eth0", "fe80::1")]
    assert reachable_hosts("0.0.0.0", from_ip_json(IP_JSON)) == ["192.168.1.20"]


def test_this_machine_gives_addresses_and_never_a_host_name():
    for _, address in interfaces():
        ipaddress.ip_address(address.split("%")[0])  # raises ValueError for a host name


def test_the_printed_lines_name_each_address_and_the_dashboard():
    text = join_instructions("0.0.0.0", 8765, "tok", found=ROOM)
    assert re.findall(r"FBFAILOVER_SANDBOX_URL=(\S+)", text) == ["http://192.168.1.20:8765", "http://10.0.0.7:8765"]
    assert "FBFAILOVER_WORKSHOP_TOKEN=tok" in text and "one of these" in text
    assert "Instructor dashboard: http://192.168.1.20:8765/_sandbox/workshop?token=... with the dashboard token" \
           in text
    assert "?token=tok" not in text  # the join token never opens the dashboard
    six = join_instructions("::", 8765, "tok", found=ROOM)
    assert re.findall(r"FBFAILOVER_SANDBOX_URL=(\S+)", six) == ["http://[2001:db8::20]:8765"]
    alone = join_instructions("0.0.0.0", 8765, "tok", found=[("lo", "127.0.0.1")])
    assert "--public-url" in alone and "FBFAILOVER_SANDBOX_URL=http://ADDRESS:8765" in alone


def test_a_public_url_is_the_only_one_printed():
    text = join_instructions("0.0.0.0", 8765, "tok", public_url="https://hub.example.org/sandbox/", found=ROOM)
    assert re.findall(r"https?://[^\s']+", text) == [
        "https://hub.example.org/sandbox",
        "https://hub.example.org/sandbox/_sandbox/accounts",
        "https://hub.example.org/sandbox/_sandbox/workshop?token=...",
    ]
    assert "192.168" not in text and "--host 0.0.0.0" not in text


def test_the_cli_prints_the_public_url_and_a_dashboard_that_opens(tmp_path):
    box = Standalone("--workshop", "--workshop-token", "tok-9", "--public-url", "http://sandbox.example:9000",
                     "--db", str(tmp_path / "w.db"), cwd=ROOT)
    try:
        lines = []
        while not lines or not lines[-1].startswith("Instructor dashboard"):
            lines.append(box.proc.stdout.readline())
        text = "".join(lines)
        assert re.findall(r"FBFAILOVER_SANDBOX_URL=(\S+)", text) == ["http://sandbox.example:9000"]
        # The instructor's secrets and dashboard token are in a 0600 file, never printed where the room reads.
        secrets = tmp_path / "workshop-instructor.txt"
        assert str(secrets) in text and (secrets.stat().st_mode & 0o777) == 0o600
        written = dict(line.split("=", 1) for line in secrets.read_text().splitlines() if "=" in line
                       and not line.startswith("#"))
        assert written["VONAGE_API_SECRET"] not in text and written["FBFAILOVER_DASHBOARD_TOKEN"] not in text
        assert "http://sandbox.example:9000/_sandbox/workshop?token=" + written["FBFAILOVER_DASHBOARD_TOKEN"] \
            in secrets.read_text()
        assert requests.get(f"{box.url}/_sandbox/workshop", params={"token": "tok-9"}, timeout=10).status_code == 401
        page = requests.get(f"{box.url}/_sandbox/workshop", params={"token": written["FBFAILOVER_DASHBOARD_TOKEN"]},
                            timeout=10)
        assert page.status_code == 200 and "Workshop dashboard" in page.text
    finally:
        assert box.stop() == 0


def test_the_cli_refuses_a_public_url_without_a_scheme(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fbfailover.sandbox", "--workshop", "--public-url", "example.org",
                           "--db", str(tmp_path / "w.db")], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "--public-url must start with http://" in done.stderr
