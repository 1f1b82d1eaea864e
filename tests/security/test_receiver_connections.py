"""Half-sent requests cannot take a server down: header and body timeouts, a cap on open connections that makes room
by closing the connection that has waited longest for its headers, and no "Too many open files" loop. Checked on
``BoundedHTTPServer`` itself and on both standalone servers (the receiver and the sandbox) run under
``ulimit -n 128``, the report's setting."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import tornado.web

from fbfailover.background import BODY_TIMEOUT, HEADER_TIMEOUT, BackgroundServer, connection_cap

ROOT = Path(__file__).resolve().parents[2]
HALF_SENT = b"POST /webhooks/inbound HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"  # no blank line
FLOOD = 140


class _Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("hello")


def _flood(port: int, count: int = FLOOD) -> list[socket.socket]:
    """``count`` connections, each with a request whose headers never end."""
    sockets = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn.sendall(HALF_SENT)
        sockets.append(conn)
    return sockets


def _close(sockets: list[socket.socket]) -> None:
    for conn in sockets:
        with contextlib.suppress(OSError):
            conn.close()


def _until(condition, what: str, limit: float = 10.0) -> None:
    """Wait until ``condition()`` holds (polled: it is the server thread's state), failing after ``limit`` s."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"still not {what}"
        time.sleep(0.01)


def test_the_cap_makes_room_by_closing_the_longest_waiting_half_sent_request():
    server = BackgroundServer(tornado.web.Application([(r"/", _Hello)]), max_connections=32)
    http = server.http_server
    assert http is not None and http.max_connections == 32
    flood = _flood(server.port)
    try:
        _until(lambda: http.evicted + http.open_connections == FLOOD, "all accepted")
        assert http.open_connections == 32 and http.evicted == FLOOD - 32
        answer = requests.get(server.url + "/", timeout=10)
        assert answer.status_code == 200 and answer.text == "hello"
        assert http.evicted == FLOOD - 31 and http.refused == 0
        assert _closed_by_server(flood[0])  # the longest-waiting half-sent requests went first
        assert _still_open(flood[-1])
    finally:
        _close(flood)
        server.stop()


def _closed_by_server(conn: socket.socket) -> bool:
    """True once the server closed ``conn`` (an end of stream, or a reset: it left the half-sent request unread)."""
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True


def _still_open(conn: socket.socket) -> bool:
    conn.setblocking(False)
    try:
        conn.recv(1)
    except BlockingIOError:
        return True  # nothing to read, and not closed
    except OSError:
        return False
    finally:
        conn.setblocking(True)
    return False


def test_a_request_whose_headers_never_end_is_closed_after_the_header_timeout():
    """Waited on state: the read returns when the server closes the connection (the socket timeout is the bound)."""
    server = BackgroundServer(tornado.web.Application([(r"/", _Hello)]))
    try:
        http = server.http_server
        assert http is not None
        assert (http.header_timeout, http.body_timeout) == (HEADER_TIMEOUT, BODY_TIMEOUT)
        # kept by the server's sweep, not by a timer per request in tornado
        assert (http.conn_params.header_timeout, http.conn_params.body_timeout) == (None, None)
        http.header_timeout = 0.2  # read at each sweep
        [conn] = _flood(server.port, 1)
        assert _closed_by_server(conn)
        conn.close()
        assert http.timed_out == 1 and http.evicted == 0
    finally:
        server.stop()


def _get(conn: socket.socket) -> bytes:
    """Send a kept-alive ``GET /`` on ``conn`` and return the response (``_Hello``'s, 5 bytes of body)."""
    conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"hello"):
        chunk = conn.recv(4096)
        assert chunk, answer
        answer += chunk
    return answer


def test_a_kept_alive_connection_left_idle_is_closed_after_the_header_timeout():
    server = BackgroundServer(tornado.web.Application([(r"/", _Hello)]))
    try:
        http = server.http_server
        assert http is not None
        http.header_timeout = 0.2
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        assert _get(conn).startswith(b"HTTP/1.1 200")
        assert _closed_by_server(conn)  # no next request within the header timeout
        conn.close()
        assert http.timed_out == 1
    finally:
        server.stop()


def test_a_body_that_stops_coming_is_closed_after_the_body_timeout_and_an_answered_request_is_not():
    server = BackgroundServer(tornado.web.Application([(r"/", _Hello)]))
    try:
        http = server.http_server
        assert http is not None
        http.body_timeout = 0.2  # the header timeout stays 30 s
        answered = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        assert _get(answered).startswith(b"HTTP/1.1 200")  # its body was read: its body clock stopped
        stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")  # 7 bytes never come
        assert _closed_by_server(stalled)
        stalled.close()
        # the answered request's body ended before the stalled one's began: a clock left running would have closed
        # it at the same sweep or an earlier one
        assert http.timed_out == 1 and _still_open(answered)
        assert _get(answered).startswith(b"HTTP/1.1 200")
        answered.close()
    finally:
        server.stop()


def test_the_cap_leaves_file_descriptors_for_everything_else():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(10**9) <= max(8, soft - 64)
    assert connection_cap(16) == min(16, max(8, soft - 64))


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


SERVERS = {
    "receiver": ([sys.executable, "-m", "fbfailover", "receiver", "--port", "0"],
                 r"fbfailover receiver listening on (http://127\.0\.0\.1:\d+)", "/health"),
    "sandbox": ([sys.executable, "-m", "fbfailover.sandbox", "--port", "0", "--db", ":memory:"],
                r"fbfailover sandbox listening on (http://127\.0\.0\.1:\d+)", "/v1/messages/ping"),
}


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_140_half_sent_requests_under_ulimit_128_leave_the_server_answering(name, tmp_path, isolated_settings):
    command, banner, path = SERVERS[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_limit_files)
    flood: list[socket.socket] = []
    try:
        first = proc.stdout.readline()
        found = re.match(banner, first)
        assert found, first
        url = found.group(1)
        flood = _flood(int(url.rpartition(":")[2]))
        answer = requests.get(url + path, timeout=10)
        assert answer.status_code < 500
        again = requests.get(url + path, timeout=10)  # and keeps answering
        assert again.status_code == answer.status_code
    finally:
        _close(flood)
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert "Too many open files" not in out + err
    assert "Traceback" not in err
