"""Run a tornado application on its own thread and asyncio loop.

Servers inside a Jupyter kernel must not share the kernel's loop: a blocking ``requests`` call from a cell
would deadlock against them. Each server here gets a daemon thread with a fresh loop, binds
``127.0.0.1`` (port 0 picks a free port) and is stopped at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import tornado.httpserver
import tornado.netutil
import tornado.web

from fbfailover.errors import FbfailoverError

__all__ = ["BackgroundServer", "serve"]

T = TypeVar("T")


class BackgroundServer:
    """A tornado app served from a daemon thread; ``url``, ``port``, ``call()``, ``stop()``."""

    def __init__(self, app: tornado.web.Application, host: str = "127.0.0.1", port: int = 0,
                 *, max_body_size: int | None = None, max_header_size: int | None = None,
                 name: str = "fbfailover-server",
                 on_start: Callable[[], Awaitable[None] | None] | None = None,
                 on_stop: Callable[[], Awaitable[None] | None] | None = None):
        self.host = host
        self._app = app
        self._on_start = on_start
        self._on_stop = on_stop
        self._sockets = tornado.netutil.bind_sockets(port, address=host)
        self.port: int = self._sockets[0].getsockname()[1]
        self._limits = {k: v for k, v in (("max_body_size", max_body_size), ("max_header_size", max_header_size))
                        if v is not None}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            self._server = tornado.httpserver.HTTPServer(self._app, **self._limits)
            self._server.add_sockets(self._sockets)
            if self._on_start is not None:
                result = self._on_start()
                if asyncio.iscoroutine(result):
                    loop.run_until_complete(result)
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._stopped.set()

    def call(self, fn: Callable[[], T | Awaitable[T]], timeout: float = 30) -> T:
        """Run ``fn`` on the server's loop and return its result (awaiting it if it is a coroutine)."""
        if self.loop is None or self.loop.is_closed():
            raise FbfailoverError("the server is not running any more: re-run the cell that starts it")

        async def runner() -> T:
            result = fn()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            return result  # type: ignore[return-value]

        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(runner(), self.loop)
        return fut.result(timeout)

    @property
    def running(self) -> bool:
        """True until ``stop()`` has finished."""
        return self._thread.is_alive() and not self._stopped.is_set()

    def stop(self, timeout: float = 10) -> None:
        """Stop serving, run ``on_stop`` and join the thread; safe to call twice."""
        if not self.running or self.loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.stop()
            if self._on_stop is not None:
                result = self._on_stop()
                if asyncio.iscoroutine(result):
                    await result
            if self._server is not None:
                await asyncio.wait_for(self._server.close_all_connections(), 2)

        # best effort: a server that cannot shut down cleanly is still stopped below
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        atexit.unregister(self.stop)


def serve(app: tornado.web.Application, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> BackgroundServer:
    """Start ``app`` on a background thread and return its handle once it is listening."""
    return BackgroundServer(app, host, port, **kwargs)
