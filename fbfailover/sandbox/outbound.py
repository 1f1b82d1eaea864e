"""The HTTP client webhooks go out through: aiohttp, with kept-alive connections pooled per destination.

Every webhook of a dispatch goes to the same one or two URLs, so the connections are kept alive (HTTP/1.1) and
reused: no new TCP connection, no name lookup per webhook. Each destination (scheme, host, port) gets at most
``per_host`` connections, so one that hangs or is slow holds only its own connections while the others go on.
Timeouts: ``connect`` covers waiting for a free connection of the destination's pool and opening a new one,
``total`` the whole attempt (both as before: 3 s and 15 s). IP literals are never looked up, and ``localhost`` is
answered here (it is loopback by definition); other names are looked up in a thread and cached for 10 s.

Why aiohttp: it runs on the sandbox's own asyncio loop, bounds connections per destination
(``limit_per_host``), and parses answers in C; see the sandbox README ("Webhooks out").
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = ["ANSWER_READ", "KEEPALIVE", "TOTAL", "LocalResolver", "Outbound"]

TOTAL = 256  # connections at most in all (file descriptors are finite)
# Idle seconds a connection is kept: below the usual idle timeouts of servers (Node's 5 s), so that a receiver
# seldom closes a connection just as a webhook is written to it.
KEEPALIVE = 4.0
ANSWER_READ = 64 * 1024  # bytes of an answer read; a longer answer closes its connection instead of reusing it

_LOOPBACK = ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"))


class LocalResolver(ThreadedResolver):
    """``localhost`` and ``*.localhost`` (loopback by RFC 6761) without a thread; other names through
    ``getaddrinfo`` in the loop's thread pool, as aiohttp does by default."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        name = host.lower().rstrip(".")
        if name != "localhost" and not name.endswith(".localhost"):
            return await super().resolve(host, port, family)
        return [
            ResolveResult(hostname=host, host=address, port=port, family=kind, proto=0,
                          flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV)
            for kind, address in _LOOPBACK
            if family in (socket.AF_UNSPEC, kind)
        ]


class Outbound:
    """POSTs webhooks over a pool of kept-alive connections per destination; made, used and closed on one loop.

    Args:
        per_host: connections at most to one destination (scheme, host, port).
        connect_timeout: seconds to get a connection (a free one of the destination's pool, or a new one).
        request_timeout: seconds for the whole attempt.
    """

    def __init__(self, per_host: int, connect_timeout: float = 3.0, request_timeout: float = 15.0):
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.connector = aiohttp.TCPConnector(limit=TOTAL, limit_per_host=per_host,
                                              keepalive_timeout=KEEPALIVE, resolver=LocalResolver())
        self.session = aiohttp.ClientSession(
            connector=self.connector,
            timeout=aiohttp.ClientTimeout(total=request_timeout, connect=connect_timeout),
            cookie_jar=aiohttp.DummyCookieJar(),  # a webhook carries no cookies, whatever a receiver sets
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding"),
        )

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int | None, str | None]:
        """One attempt: ``(status, None)`` for an answer, ``(None, error)`` when none came (retried)."""
        try:
            async with self.session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                # Read what little a receiver answers, so that the connection goes back to the pool.
                await response.content.read(ANSWER_READ)
                return response.status, None
        except aiohttp.ConnectionTimeoutError:
            return None, f"no connection within {self.connect_timeout:g} s"
        except asyncio.TimeoutError:
            return None, f"no answer within {self.request_timeout:g} s"
        except Exception as exc:  # DNS failures, refused or reset connections, bad URLs
            return None, f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        await self.session.close()
