"""Run a tornado application on its own thread and asyncio loop.

Servers inside a Jupyter kernel must not share the kernel's loop: a blocking ``requests`` call from a cell
would deadlock against them. Each server here gets a daemon thread with a fresh loop, binds
``127.0.0.1`` (port 0 picks a free port) and is stopped at interpreter exit.

Every HTTP server of the package (the sandbox, embedded or standalone, and the webhook receiver) is a
``BoundedHTTPServer``: a client gets ``HEADER_TIMEOUT`` seconds to send a request's headers (and as long to send
the next one on a kept-alive connection) and ``BODY_TIMEOUT`` seconds to send its body, and at most
``connection_cap()`` connections are open at once. At the cap, the connection that has waited longest for a
request's headers is closed to make room (a half-sent request is worth less than a new one); when none is waiting
the new connection is closed. When the process runs out of file descriptors all the same, accepting pauses for
``ACCEPT_PAUSE`` seconds instead of failing in a loop, and nothing is logged.

The timeouts are kept by the server rather than by tornado: it notes when each connection started waiting for a
request's headers or reading its body, and every ``TIMEOUT_SWEEP`` seconds closes those past their timeout (a
connection goes at most that long after its timeout; nothing is logged). tornado's own ``idle_connection_timeout``
and ``body_timeout`` wrap every request's two reads in ``gen.with_timeout`` and a timer, which was a tenth of the
receiver's time per webhook under load.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import errno
import functools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import tornado.httpserver
import tornado.httputil
import tornado.ioloop
import tornado.netutil
import tornado.web

from fbfailover.errors import FbfailoverError

__all__ = ["ACCEPT_PAUSE", "BODY_TIMEOUT", "HEADER_TIMEOUT", "LISTEN_BACKLOG", "MAX_CONNECTIONS", "TIMEOUT_SWEEP",
           "BackgroundServer", "BoundedBodyHandler", "BoundedHTTPServer", "connection_cap", "serve", "wake", "woken"]

T = TypeVar("T")

HEADER_TIMEOUT = 30.0
"""Seconds a connection may take to send a request's headers (or stay idle between two kept-alive requests)."""
BODY_TIMEOUT = 30.0
"""Seconds a request may take to send its body (counted from the end of its headers)."""
TIMEOUT_SWEEP = 1.0
"""Seconds between two looks for connections past their header or body timeout (a quarter of the shorter timeout
when that is less)."""
MAX_CONNECTIONS = 1000
"""Connections open at once, at most (lowered by ``connection_cap`` to fit the process's file descriptor limit)."""
ACCEPT_PAUSE = 0.5
"""Seconds accepting pauses when the process has no file descriptor left."""
LISTEN_BACKLOG = 1024
"""Connections the kernel queues before they are accepted (tornado's default is 128): a room whose kernels all
connect in the same second must not have their first packets dropped and resent a second or more later."""
# File descriptors left for everything else (the database, log files, outgoing webhooks) below the limit.
_RESERVED_FDS = 64
_UNBOUNDED = 2**62
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def connection_cap(wanted: int = MAX_CONNECTIONS) -> int:
    """``wanted``, lowered to leave ``_RESERVED_FDS`` of the process's soft file descriptor limit free (at least 8)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return wanted
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft - _RESERVED_FDS))


def wake(waiter: asyncio.Future) -> None:
    """Set ``waiter`` (to None) unless it is done already."""
    if not waiter.done():
        waiter.set_result(None)


async def woken(waiter: asyncio.Future, seconds: float) -> None:
    """Wait until ``waiter`` is done or ``seconds`` have passed, whichever comes first (a long-poll's wait).

    The caller resumes in the loop's next turn after ``waiter`` is set. ``asyncio.wait_for`` adds a turn between the
    wake-up and the caller, and a ``shield`` around the future another; when a room of attendees keeps the loop
    busy, each turn takes tens of milliseconds, and those turns were most of a webhook's way through a workshop
    sandbox (benchmarks/README.md, "Workshop").
    """
    timer = asyncio.get_running_loop().call_later(seconds, wake, waiter)
    try:
        await waiter
    finally:
        timer.cancel()


def _answers_413_first(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, answering ``body_too_large`` instead when the request's body was over its limit."""
    @functools.wraps(method)
    def checked(self: BoundedBodyHandler, *args: Any, **kwargs: Any) -> Any:
        if self.body_over:
            return self.body_too_large(self._size)
        return method(self, *args, **kwargs)
    return checked


@tornado.web.stream_request_body
class BoundedBodyHandler(tornado.web.RequestHandler):
    """A handler whose request body is kept up to ``body_limit`` bytes as it streams in (the sandbox's and the
    receiver's handlers).

    With a ``Content-Length`` over the limit nothing of the body is kept, and a body that passes the limit as it
    streams (chunked, or a lying length) keeps nothing more: ``body_over`` is then true, and every HTTP method of
    the handler answers with ``body_too_large`` instead of running (``__init_subclass__``), once the rest has been
    read and thrown away, so that the client reads the answer on a clean connection. Past ``discard_limit`` bytes
    (declared, or streamed) ``body_too_large`` answers at once, and tornado closes the connection without reading
    more. The server's own body limit is lifted for these requests: it would cut a long chunked body with a bare
    400 rather than the route's 413.
    """

    body_over = False
    _size = 0
    _chunks: list[bytes]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("get", "head", "post", "put", "patch", "delete", "options"):
            if name in cls.__dict__:
                setattr(cls, name, _answers_413_first(cls.__dict__[name]))

    @property
    def body_limit(self) -> int:
        """The bytes of body this request may have."""
        raise NotImplementedError

    @property
    def discard_limit(self) -> int:
        """The bytes of body read and thrown away, at most, before the 413."""
        raise NotImplementedError

    def body_too_large(self, size: int) -> None:
        """Answer 413 for a body of ``size`` bytes or more, now."""
        raise NotImplementedError

    def prepare(self) -> None:
        self._chunks = []
        self.request.connection.set_max_body_size(_UNBOUNDED)  # type: ignore[union-attr]
        declared = self.request.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > self.body_limit:
            self._over(int(declared))

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self.body_over or self._size > self.body_limit:
            self._over(self._size)
        else:
            self._chunks.append(chunk)

    def _over(self, size: int) -> None:
        self.body_over = True
        self._chunks = []
        if size > self.discard_limit and not self._finished:
            self.body_too_large(size)

    def kept_body(self) -> bytes:
        """The request's body as kept: all of it, unless ``body_over``."""
        if len(self._chunks) > 1:
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0] if self._chunks else b""


class _Watched(tornado.httputil.HTTPMessageDelegate):
    """A request's delegate that tells its server when the request's headers have arrived and when its body has
    been read (the server's timeouts, ``BoundedHTTPServer``)."""

    def __init__(self, inner: tornado.httputil.HTTPMessageDelegate, server: BoundedHTTPServer, conn: object):
        self.inner = inner
        self.server = server
        self.conn = conn

    def headers_received(self, start_line: Any, headers: Any) -> Awaitable[None] | None:
        server = self.server
        server._waiting.pop(self.conn, None)
        server._reading[self.conn] = time.monotonic()  # reads its body from now on
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self.server._reading.pop(self.conn, None)
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.server._reading.pop(self.conn, None)
        self.inner.on_connection_close()


class BoundedHTTPServer(tornado.httpserver.HTTPServer):
    """tornado's HTTPServer with header and body timeouts and a cap on open connections (see the module docstring).

    Attributes:
        max_connections: the cap. header_timeout, body_timeout: the timeouts in seconds (None: none), read at each
            sweep. evicted: connections closed while waiting for headers, to make room. refused: new connections
            closed because none was waiting. timed_out: connections closed past a timeout. out_of_descriptors: times
            accepting paused for lack of file descriptors.
    """

    def initialize(self, request_callback: Any, *, max_connections: int = MAX_CONNECTIONS,  # type: ignore[override]
                   idle_connection_timeout: float | None = HEADER_TIMEOUT,
                   body_timeout: float | None = BODY_TIMEOUT, **kwargs: Any) -> None:
        super().initialize(request_callback, **kwargs)
        # tornado's own timeouts off (its default header timeout is an hour): the sweep keeps them
        self.conn_params.header_timeout = self.conn_params.body_timeout = None
        self.header_timeout = idle_connection_timeout
        self.body_timeout = body_timeout
        self.max_connections = connection_cap(max_connections)
        self.evicted = self.refused = self.timed_out = self.out_of_descriptors = 0
        # connections waiting for a request's headers, and reading a request's body, each with the monotonic time
        # it started, longest first (a connection is moved to the end when it starts again)
        self._waiting: dict[Any, float] = {}
        self._reading: dict[Any, float] = {}
        self._closing: set[Any] = set()  # evicted or timed out, not yet gone
        self._sweep_timer: asyncio.TimerHandle | None = None

    @property
    def open_connections(self) -> int:
        """Connections open now (those being closed not counted)."""
        return len(self._connections) - len(self._closing)

    def handle_stream(self, stream: Any, address: Any) -> None:
        if self.open_connections >= self.max_connections and not self._evict():
            self.refused += 1
            stream.close()
            return
        known, self._connections = self._connections, set()
        try:  # the connection tornado makes is the one new member of the set
            super().handle_stream(stream, address)
        finally:
            new, self._connections = self._connections, known
            known.update(new)
        now = time.monotonic()
        for conn in new:  # waiting for its first request's headers from now on (before its reading task has run)
            self._waiting[conn] = now
        if self._sweep_timer is None:
            self._sweep_later()

    def _evict(self) -> bool:
        """Close the connection that has waited longest for a request's headers; False when none waits."""
        while self._waiting:
            conn = next(iter(self._waiting))
            del self._waiting[conn]
            if self._closable(conn):
                self.evicted += 1  # counted first: a client can see the close before this thread goes on
                self._close(conn)
                return True
        return False

    def _closable(self, conn: Any) -> bool:
        """True unless ``conn`` is gone or being closed already."""
        return conn in self._connections and conn not in self._closing

    def _close(self, conn: Any) -> None:
        self._closing.add(conn)
        conn.stream.close()

    def _sweep_later(self) -> None:
        shortest = min((t for t in (self.header_timeout, self.body_timeout) if t is not None), default=TIMEOUT_SWEEP)
        self._sweep_timer = asyncio.get_running_loop().call_later(min(TIMEOUT_SWEEP, shortest / 4), self._sweep)

    def _sweep(self) -> None:
        """Close the connections past their header or body timeout; look again later while any is open."""
        self._sweep_timer = None
        now = time.monotonic()
        for started, timeout in ((self._waiting, self.header_timeout), (self._reading, self.body_timeout)):
            if timeout is None:
                continue
            while started:
                conn, since = next(iter(started.items()))
                if now - since < timeout:
                    break  # and so is every later one
                del started[conn]
                if self._closable(conn):
                    self.timed_out += 1
                    self._close(conn)
        if self._connections:
            self._sweep_later()

    def start_request(self, server_conn: object, request_conn: Any) -> tornado.httputil.HTTPMessageDelegate:
        self._waiting.pop(server_conn, None)
        self._waiting[server_conn] = time.monotonic()  # waits for this request's headers from now on
        return _Watched(super().start_request(server_conn, request_conn), self, server_conn)

    def on_close(self, server_conn: object) -> None:
        self._waiting.pop(server_conn, None)
        self._reading.pop(server_conn, None)
        self._closing.discard(server_conn)
        super().on_close(server_conn)

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_on(sock)

    def _accept_on(self, sock: socket.socket) -> Callable[[], None]:
        """tornado's accept loop, except that running out of file descriptors pauses it (evicting one waiting
        connection) instead of raising, and so logging, on every turn of the loop; returns the remover."""
        loop = tornado.ioloop.IOLoop.current()
        state: dict[str, Any] = {"removed": False, "paused": None}

        def accept(fd: Any, events: int) -> None:
            for _ in range(128):
                if state["removed"] or state["paused"] is not None:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as exc:
                    if exc.errno not in _OUT_OF_FDS:
                        raise
                    self.out_of_descriptors += 1
                    self._evict()
                    loop.remove_handler(sock)
                    state["paused"] = loop.call_later(ACCEPT_PAUSE, resume)
                    return
                self._handle_connection(connection, address)

        def resume() -> None:
            state["paused"] = None
            if not state["removed"]:
                loop.add_handler(sock, accept, tornado.ioloop.IOLoop.READ)

        def remove() -> None:
            state["removed"] = True
            if state["paused"] is not None:
                loop.remove_timeout(state["paused"])
                state["paused"] = None
            else:
                loop.remove_handler(sock)

        loop.add_handler(sock, accept, tornado.ioloop.IOLoop.READ)
        return remove


class BackgroundServer:
    """A tornado app served from a daemon thread; ``url``, ``port``, ``call()``, ``stop()``."""

    def __init__(self, app: tornado.web.Application, host: str = "127.0.0.1", port: int = 0,
                 *, max_body_size: int | None = None, max_header_size: int | None = None,
                 max_connections: int = MAX_CONNECTIONS, name: str = "fbfailover-server",
                 on_start: Callable[[], Awaitable[None] | None] | None = None,
                 on_stop: Callable[[], Awaitable[None] | None] | None = None):
        self.host = host
        self._app = app
        self._on_start = on_start
        self._on_stop = on_stop
        self._sockets = tornado.netutil.bind_sockets(port, address=host, backlog=LISTEN_BACKLOG)
        self.port: int = self._sockets[0].getsockname()[1]
        self._limits: dict[str, Any] = {k: v for k, v in (("max_body_size", max_body_size),
                                                          ("max_header_size", max_header_size)) if v is not None}
        self._limits["max_connections"] = max_connections
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: BoundedHTTPServer | None = None
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
    def http_server(self) -> BoundedHTTPServer | None:
        """The tornado server (its counters: ``evicted``, ``refused``, ``out_of_descriptors``), once started."""
        return self._server

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            self._server = BoundedHTTPServer(self._app, **self._limits)
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
