"""The ``fbfailover receiver`` subcommand: run the webhook receiver in a terminal.

stdout gets ``fbfailover receiver listening on http://HOST:PORT`` first, then one JSON line
``{"kind": ..., "body": ...}`` per accepted webhook (each flushed, so ``| jq`` or a parent process can follow
along). stderr gets the URLs to configure, the signature notice and one line per rejected webhook.
Runs until Ctrl-C or SIGTERM. Importing this module is cheap: the server is imported by ``run``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any, TextIO

from fbfailover.webhooks.signature import SMS_SIGNATURE_METHODS

__all__ = ["register", "run"]


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
    parser.add_argument("--stop", action="store_true",
                        help="stop the project's background receiver (the one live-mode notebooks share) and exit")
    parser.set_defaults(func=run)


def _printer(out: TextIO, err: TextIO, lock: threading.Lock) -> Any:
    from fbfailover.webhooks.events import Event

    def show(item: Any) -> None:
        with lock:
            if isinstance(item, Event):
                out.write(json.dumps({"kind": item.kind, "body": item.body}, default=str) + "\n")
                out.flush()
            else:
                err.write(f"rejected {item.route} ({item.status}): {item.reason}\n")
                err.flush()

    return show


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
    from fbfailover.webhooks.eventlog import EventLog
    from fbfailover.webhooks.receiver import Receiver

    out = out or sys.stdout
    err = err or sys.stderr
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
    receiver.subscribe(_printer(out, err, lock), rejections=True)
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
