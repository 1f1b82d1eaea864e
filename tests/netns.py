"""Another machine without another machine: a network namespace joined to this one by a veth pair.

A server started with ``room.popen(...)`` runs in the namespace and listens on ``room.inside`` (e.g. 10.88.7.2);
this machine reaches it there, through ``room.outside`` (10.88.7.1). From inside, ``127.0.0.1`` is the
namespace's own loopback: the server cannot reach anything this machine serves on its loopback, just as a workshop
server cannot reach an attendee's laptop. Needs root (``ip netns``); ``room()`` skips the test with one line where
namespaces cannot be made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.ports import wait_for_port

__all__ = ["Room", "room", "sandbox_in", "wait_for_port"]


@dataclass(frozen=True)
class Room:
    """A namespace ``name`` at address ``inside``, reached from this machine through ``outside``."""

    name: str
    inside: str
    outside: str

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start ``argv`` inside the namespace."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def run(self, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
        """Run ``argv`` inside the namespace and return its result (output captured)."""
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True,
                              timeout=timeout)


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


@contextlib.contextmanager
def room(prefix: str = "fbf") -> Iterator[Room]:
    """Make a namespace with its own veth link for the duration of the ``with`` block (skips where impossible)."""
    if shutil.which("ip") is None or (hasattr(os, "geteuid") and os.geteuid() != 0):
        pytest.skip("network namespaces need root and iproute2 (ip): the other-machine test is skipped here")
    tag = os.getpid() % 10_000
    subnet = 100 + (os.getpid() % 150)  # one subnet per test process: parallel workers do not collide
    name, host_if, ns_if = f"{prefix}{tag}", f"{prefix}h{tag}", f"{prefix}r{tag}"
    inside, outside = f"10.88.{subnet}.2", f"10.88.{subnet}.1"
    _ip("netns", "del", name)
    _ip("link", "del", host_if)
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"network namespaces are not allowed here ({made.stderr.strip()}): the other-machine test "
                    "is skipped")
    try:
        steps = [
            ("link", "add", host_if, "type", "veth", "peer", "name", ns_if),
            ("link", "set", ns_if, "netns", name),
            ("addr", "add", f"{outside}/24", "dev", host_if),
            ("link", "set", host_if, "up"),
            ("netns", "exec", name, "ip", "addr", "add", f"{inside}/24", "dev", ns_if),
            ("netns", "exec", name, "ip", "link", "set", ns_if, "up"),
            ("netns", "exec", name, "ip", "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"cannot wire a network namespace here (ip {' '.join(step)}: {done.stderr.strip()})")
        yield Room(name, inside, outside)
    finally:
        _ip("netns", "del", name)
        _ip("link", "del", host_if)


@contextlib.contextmanager
def sandbox_in(far: Room, folder, port: int, *args: str) -> Iterator[str]:
    """``fbfailover sandbox --host 0.0.0.0 --port PORT ARGS...`` inside ``far``; yields its URL from this machine.

    Its output goes to ``folder/sandbox.log`` and its database to ``folder/sandbox.sqlite3``.
    """
    import sys
    from pathlib import Path

    folder = Path(folder)
    with (folder / "sandbox.log").open("w") as log:
        proc = far.popen([sys.executable, "-m", "fbfailover.sandbox", "--host", "0.0.0.0", "--port", str(port),
                          "--db", str(folder / "sandbox.sqlite3"), *args], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(far.inside, port)
            yield f"http://{far.inside}:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
