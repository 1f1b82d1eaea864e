"""The addresses a room can reach the sandbox at, printed by ``fbfailover sandbox --workshop``.

Bound to one address, the sandbox is reached there. Bound to every interface (``0.0.0.0`` for IPv4, ``::`` for
IPv6 only, since tornado binds ``::`` with ``IPV6_V6ONLY``), it is reached at the address of each interface that
is up and not loopback or link-local. Those are read, with the standard library only, from the first source
that answers:

1. ``ip -j addr`` (iproute2's JSON, on every current Linux): every interface with its name and state;
2. ``socket.getaddrinfo(socket.gethostname())``: the addresses the host name resolves to (macOS, Windows);
3. the UDP-connect trick: the source address of the default route (nothing is sent).

A host name is never printed: an attendee's machine may not resolve it.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import subprocess
from collections.abc import Iterable

__all__ = ["EVERY_INTERFACE", "from_ip_json", "interfaces", "private_callback", "private_callback_resolved",
           "reachable_hosts", "url_host"]

#: Bind addresses that mean "every interface".
EVERY_INTERFACE = ("0.0.0.0", "::", "")

Found = list[tuple[str, str]]  # (interface name, address)


def from_ip_json(text: str) -> Found:
    """The addresses of the interfaces that are up, from the output of ``ip -j addr``.

    Args:
        text: the JSON ``ip -j addr`` printed.

    Returns:
        ``(interface, address)`` pairs in the order ``ip`` listed them.

    Raises:
        ValueError: when ``text`` is not that JSON.
    """
    found: Found = []
    for link in json.loads(text):
        if "UP" not in link.get("flags", []):
            continue
        for info in link.get("addr_info", []):
            if info.get("family") in ("inet", "inet6") and info.get("local"):
                found.append((link.get("ifname", "?"), info["local"]))
    return found


def _from_ip_command() -> Found:
    ip = shutil.which("ip")
    if ip is None:
        return []
    try:
        done = subprocess.run([ip, "-j", "addr"], capture_output=True, text=True, timeout=3, check=True)
        return from_ip_json(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, AttributeError):
        return []


def _from_host_name() -> Found:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [("hostname", str(info[4][0]).split("%")[0]) for info in infos]


def _from_default_route() -> Found:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: nothing is sent, the kernel only picks a route
            return [("default route", probe.getsockname()[0])]
        except OSError:
            return []


def interfaces() -> Found:
    """This machine's addresses, from the first source that answers (see the module's docstring).

    Returns:
        ``(interface, address)`` pairs, loopback ones included (``reachable_hosts`` filters them).
    """
    for source in (_from_ip_command, _from_host_name, _from_default_route):
        found = source()
        if any(_usable(address, (4, 6)) for _, address in found):
            return found
    return []


def _usable(address: str, versions: tuple[int, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return ip.version in versions and not (ip.is_loopback or ip.is_link_local or ip.is_unspecified)


def reachable_hosts(host: str, found: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """The addresses attendees can use for a server bound to ``host``.

    Args:
        host: the bind address (``--host``).
        found: ``(interface, address)`` pairs; default ``interfaces()`` (tests pass their own).

    Returns:
        ``[host]`` for a specific address; for ``0.0.0.0`` / ``::`` / ``""`` every non-loopback, non-link-local
        address of the matching family (IPv4, IPv6, both), without repeats. Empty when there is none.
    """
    if host not in EVERY_INTERFACE:
        return [host]
    versions = {"0.0.0.0": (4,), "::": (6,)}.get(host, (4, 6))
    hosts: list[str] = []
    for _, address in interfaces() if found is None else found:
        plain = address.split("%")[0]
        if _usable(plain, versions) and plain not in hosts:
            hosts.append(plain)
    return hosts


def url_host(host: str) -> str:
    """``host`` as it goes in a URL: IPv6 addresses in brackets.

    Args:
        host: an address or a name.

    Returns:
        The URL's host part.
    """
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def private_callback_resolved(url: str, timeout: float = 2.0) -> str | None:
    """``private_callback``, and for a host name also the addresses it resolves to now (on the loop's resolver).

    A name that resolves to loopback or link-local (``localtest.me``, a rebinding name) is refused like the address
    itself. A name that does not resolve in ``timeout`` seconds is let through: its webhooks will fail to connect.
    What a name resolves to later, at delivery time, is not checked again.
    """
    import asyncio
    from urllib.parse import urlsplit

    why = private_callback(url)
    if why is not None:
        return why
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
        ipaddress.ip_address(host.split("%")[0])
        return None  # an address: checked above
    except ValueError:
        pass
    try:
        found = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), timeout)
    except (OSError, UnicodeError, asyncio.TimeoutError):
        return None
    for *_, sockaddr in found:
        why = private_callback(f"http://{url_host(str(sockaddr[0]))}/")
        if why is not None:
            return f"{why.replace('points at', 'resolves to')} ({host} is {sockaddr[0]})"
    return None


def private_callback(url: str) -> str | None:
    """Why a workshop refuses ``url`` as a callback URL, or None: loopback and link-local hosts are refused.

    In a workshop the sandbox runs on the instructor's machine: a callback to ``127.0.0.1:PORT`` would make the
    sandbox call that machine's own services for an attendee, and ``/_sandbox/deliveries`` would tell the answer
    (a port scanner). So loopback (``127.0.0.0/8``, ``::1``, ``localhost`` and ``*.localhost``), link-local
    (``169.254.0.0/16``, ``fe80::/10``, the cloud metadata address among them) and unspecified (``0.0.0.0``, ``::``)
    hosts are refused. The sandbox's own mailbox addresses are checked before this (``mailbox.route_of``). A host
    name is not resolved here (``private_callback_resolved`` does that).
    """
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return "is not a URL"
    if host == "localhost" or host.endswith(".localhost"):
        return "points at the sandbox's own machine (loopback)"
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        try:  # the forms the resolver also reads as IPv4: 2130706433, 127.1, 0x7f.0.0.1, 0177.0.0.1
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None if host else "has no host"
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    if address.is_loopback or address.is_unspecified:
        return "points at the sandbox's own machine (loopback)"
    if address.is_link_local:
        return "points at a link-local address"
    return None
