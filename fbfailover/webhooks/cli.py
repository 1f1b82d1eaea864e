"""The ``fbfailover receiver`` subcommand: run the webhook receiver in a terminal.

stdout gets ``fbfailover receiver listening on http://HOST:PORT`` first, then one JSON line
``{"kind": ..., "body": ...}`` per accepted webhook. stderr gets the URLs to configure, the signature notice and one
line per rejected webhook. The lines of the webhooks that reached the store's worker together (``store.HAND_OVER``:
a few milliseconds) are written and flushed together, so ``| jq`` or a parent process follows along: a write and a
flush per line cost the receiver a system call and a switch of the interpreter lock per webhook.
Runs until Ctrl-C or SIGTERM. Importing this module is cheap: the server is imported by ``run``.

What is printed is bounded: a body whose JSON is longer than ``MAX_LOGGED_BODY`` characters is printed as
``{"kind": ..., "body_truncated": "<its first MAX_LOGGED_BODY characters>", "body_chars": N}``, and a rejection
line is cut at ``MAX_LOGGED_REASON`` characters. With ``--log-file PATH`` (how the project's background receiver
runs: ``<data folder>/receiver.log``) both streams go to that file instead, created 0600 (it holds phone numbers
and texts) and kept under ``LOG_FILE_BYTES``: when full it becomes ``PATH.1`` (replacing the previous one) and a
new file is started, so the two never hold more than twice that.
"""

from __future__ import annotations

import argparse
import json
import logging.handlers
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from fbfailover.webhooks.signature import SMS_SIGNATURE_METHODS

__all__ = ["LOG_FILE_BYTES", "MAX_LOGGED_BODY", "MAX_LOGGED_REASON", "BoundedLog", "register", "run"]

MAX_LOGGED_BODY = 4096
"""Characters of a webhook body's JSON printed per event; a longer one is cut (``body_truncated``)."""
MAX_LOGGED_REASON = 500
"""Characters of a rejection's reason printed."""
LOG_FILE_BYTES = 10 * 1024 * 1024
"""Bytes of ``--log-file`` before it is rotated to ``PATH.1``: at most twice this is kept."""
_WRITE_CHUNK = 64 * 1024
"""Characters of lines written at once, at most (``--log-file`` rotates between two writes)."""


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """stdlib's size-rotating file, each file created 0600."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.chmod(self.baseFilename, 0o600)  # one created before, with other permissions
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # the handler closes it


class BoundedLog:
    """A text stream over a log file that rotates at ``max_bytes`` (one old file kept), created 0600."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = LOG_FILE_BYTES):
        self._handler = _PrivateRotatingFile(os.fspath(path), maxBytes=max_bytes, backupCount=1, encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self._handler.terminator = ""

    def write(self, text: str) -> int:
        self._handler.emit(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
        return len(text)

    def flush(self) -> None:
        self._handler.flush()

    def close(self) -> None:
        self._handler.close()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``receiver`` subcommand to the top-level parser."""
    parser = subparsers.add_parser(
        "receiver", help="run the local webhook receiver and print every webhook as a JSON line",
        description="Receive inbound and status webhooks and print each as one JSON line on stdout.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--signature-secret", default=None,
                        help="verify signed webhooks (HS256) with this secret (default: VONAGE_SIGNATURE_SECRET "
                             "from the settings); without one, unsigned webhooks are accepted")
    parser.add_argument("--api-key", default=None,
                        help="refuse signed webhooks of another account (default: VONAGE_API_KEY from the settings)")
    parser.add_argument("--sms-signature-method", action="append", choices=SMS_SIGNATURE_METHODS, default=None,
                        dest="sms_signature_methods",
                        help="SMS API signature method to accept (repeatable; default: any of them)")
    parser.add_argument("--require-sms-signature", action="store_true",
                        help="refuse unsigned SMS API callbacks (default: accept them, marked unverified)")
    parser.add_argument("--public-url", default=None,
                        help="public base URL of a tunnel to this port; the printed URLs are built on it")
    parser.add_argument("--events-file", default=None, help="also append every event to this JSON-lines file")
    parser.add_argument("--log-file", default=None,
                        help="print to this file (created 0600, rotated to FILE.1 past 10 MiB) instead of stdout and "
                             "stderr")
    parser.add_argument("--stop", action="store_true",
                        help="stop the project's background receiver (the one live-mode notebooks share) and exit")
    parser.set_defaults(func=run)


def _printer(out: TextIO, err: TextIO, lock: threading.Lock) -> tuple[Any, Any]:
    """The store subscriber that formats each item, and what writes and flushes them at the end of a batch (one
    write per stream and batch, whether or not the stream is buffered)."""
    from fbfailover.webhooks.events import Event

    lines: list[str] = []
    rejections: list[str] = []

    def show(item: Any) -> None:
        if isinstance(item, Event):
            line = _event_line(item.kind, item.body) + "\n"
            with lock:
                lines.append(line)
        else:
            reason = " ".join(str(item.reason).split())[:MAX_LOGGED_REASON]
            with lock:
                rejections.append(f"rejected {item.route[:100]} ({item.status}): {reason}\n")

    def flush() -> None:
        with lock:
            for stream, pending in ((out, lines), (err, rejections)):
                if pending:
                    for chunk in _chunks(pending):
                        stream.write(chunk)
                    pending.clear()
                    stream.flush()

    return show, flush


def _chunks(lines: list[str]) -> Iterator[str]:
    """``lines`` joined into strings of at most ``_WRITE_CHUNK`` characters (or one line, when longer)."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) > _WRITE_CHUNK:
            yield "".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield "".join(chunk)


def _event_line(kind: str, body: Any) -> str:
    """One JSON line for an event, its body cut at ``MAX_LOGGED_BODY`` characters of JSON.

    The same text as ``json.dumps({"kind": kind, "body": body}, default=str)``, with the body encoded once.
    """
    text = json.dumps(body, default=str)
    if len(text) <= MAX_LOGGED_BODY:
        return f'{{"kind": {json.dumps(kind)}, "body": {text}}}'
    return json.dumps({"kind": kind, "body_truncated": text[:MAX_LOGGED_BODY], "body_chars": len(text)})


def _signature_settings(args: argparse.Namespace) -> tuple[str | None, str | None, str | None, str | None]:
    """The signature secret, API key, API secret and public URL: the command line's, else the settings'."""
    from fbfailover.config import load_settings

    settings = load_settings()
    return (args.signature_secret or settings.signature_secret, getattr(args, "api_key", None) or settings.api_key,
            settings.api_secret, getattr(args, "public_url", None) or settings.public_url)


#: How each handed-out URL is called where it is pasted.
_URL_LABELS = {"inbound_url": "application Inbound URL", "status_url": "application Status URL",
               "inbound_sms_url": "account Inbound Message", "delivery_receipt_url": "account Delivery Receipt"}


def run(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None,
        stop: threading.Event | None = None) -> int:
    """Run the receiver until Ctrl-C/SIGTERM (or until ``stop`` is set); return the exit status."""
    log = BoundedLog(args.log_file) if getattr(args, "log_file", None) else None
    out = out or log or sys.stdout
    err = err or log or sys.stderr
    try:
        return _run(args, out, err, stop)
    finally:
        if log is not None:
            log.close()


def _run(args: argparse.Namespace, out: TextIO | BoundedLog, err: TextIO | BoundedLog,
         stop: threading.Event | None) -> int:
    from fbfailover.webhooks.eventlog import EventLog
    from fbfailover.webhooks.receiver import Receiver

    if getattr(args, "stop", False):
        from fbfailover.webhooks.shared import stop_shared_receiver

        out.write(stop_shared_receiver() + "\n")
        return 0
    stop = stop or threading.Event()
    secret, api_key, api_secret, public_url = _signature_settings(args)
    credentials = (api_key, api_secret) if api_key and api_secret else None
    try:
        receiver = Receiver(args.port, secret, public_url, host=args.host, events_file=args.events_file,
                            api_key=api_key, event_log=EventLog(), log_credentials=credentials,
                            sms_signature_methods=tuple(getattr(args, "sms_signature_methods", None)
                                                        or SMS_SIGNATURE_METHODS),
                            require_sms_signature=getattr(args, "require_sms_signature", False))
    except OSError as exc:
        err.write(f"fbfailover receiver: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n")
        return 1
    lock = threading.Lock()
    # Subscribe before announcing the URL: a webhook sent as soon as the line is read must be printed.
    show, flush = _printer(out, err, lock)
    receiver.subscribe(show, rejections=True, on_batch_end=flush)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with lock:
        out.write(f"fbfailover receiver listening on {receiver.local_url}\n")
        out.flush()
        err.write("  paste these URLs (application: dashboard or step 02; account: dashboard settings or step 01):\n")
        for name, url in receiver.urls.items():
            err.write(f"  {_URL_LABELS.get(name, name):<25} {url}\n")
        if not public_url:
            err.write(f"  these are local addresses: for Vonage, tunnel to this port (ngrok http {receiver.port}) "
                      f"and set FBFAILOVER_PUBLIC_URL (or --public-url) to the tunnel's address\n")
        if receiver.signature_secret is None:
            err.write("  accepting unsigned webhooks (no --signature-secret): signatures are not checked\n")
        else:
            err.write("  signatures: verified (HS256, payload_hash, fresh iat; SMS API sig and timestamp)\n")
        err.flush()
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        receiver.store.flush()
        receiver.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
