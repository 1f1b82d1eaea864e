"""A webhook sink for the benchmarks: answers every request 200 at once, counts requests and connections.

Run as its own process (``python -m benchmarks.sink`` or ``python benchmarks/sink.py``); it prints
``sink listening on http://127.0.0.1:PORT`` and serves until SIGTERM. ``GET /_sink`` answers
``{"requests": n, "connections": n, "open": n}`` (the requests counted are the others: the webhooks), so a
benchmark can tell that every webhook really arrived and over how many TCP connections.

It is a plain asyncio protocol with HTTP/1.1 keep-alive and no framework, so that it costs the two cores as
little as possible: what is measured is the sandbox sending, not the sink receiving. It reads requests with a
``Content-Length`` body (what webhook senders send); anything else closes the connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD = 64 * 1024


class Counts:
    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self.open = 0

    def page(self) -> bytes:
        body = json.dumps({"requests": self.requests, "connections": self.connections, "open": self.open}).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                + body)


class Sink(asyncio.Protocol):
    def __init__(self, counts: Counts):
        self.counts = counts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.counts.connections += 1
        self.counts.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.counts.open -= 1

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        out = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    self._close(out, BAD)
                    return
                break
            head = bytes(buffer[:end]).lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = head.find(b"\r\n", at + 2)
                try:
                    length = int(head[at + 17: line_end if line_end >= 0 else len(head)])
                except ValueError:
                    self._close(out, BAD)
                    return
            elif b"\r\ntransfer-encoding:" in head:
                self._close(out, BAD)
                return
            if len(buffer) < end + 4 + length:
                break
            del buffer[: end + 4 + length]
            if head.startswith(b"get /_sink"):
                out.append(self.counts.page())
            else:
                self.counts.requests += 1
                out.append(OK)
        if out:
            self.transport.write(b"".join(out))

    def _close(self, out: list[bytes], last: bytes) -> None:
        self.transport.write(b"".join([*out, last]))
        self.transport.close()


async def serve(host: str, port: int) -> None:
    counts = Counts()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Sink(counts), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"sink listening on http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
