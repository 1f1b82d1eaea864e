"""The ``fbfailover sandbox`` subcommand: run the offline Vonage sandbox in the foreground.

Cheap to import: the server modules load inside ``run``.
"""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` subcommand to the top-level parser."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the offline Vonage sandbox (Dispatch, Messages, Applications)",
        description="Run the offline Vonage sandbox. It prints its URL and the account's credentials.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument(
        "--db",
        default=None,
        help="SQLite file (default <data dir>/sandbox.sqlite3; ':memory:' keeps nothing)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=600.0,
        metavar="N",
        help="simulated seconds per real second (default 600: a 600 s expiry takes 1 s)",
    )
    parser.add_argument(
        "--clock",
        choices=("real", "manual"),
        default="real",
        help="'manual' stops time until POST /_sandbox/clock/advance",
    )
    parser.add_argument("--api-key", default=None, help="fixed API key (default: generated once, kept in the db)")
    parser.add_argument("--api-secret", default=None, help="fixed API secret")
    parser.add_argument("--signature-secret", default=None, help="fixed signature secret for signed webhooks")
    parser.add_argument(
        "--workshop",
        action="store_true",
        help="one sandbox for a room: attendees create their own isolated accounts with the workshop token",
    )
    parser.add_argument(
        "--workshop-token",
        dest="workshop_token",
        default=None,
        metavar="TOKEN",
        help="the token attendees join with (default $FBFAILOVER_WORKSHOP_TOKEN, else a new random one)",
    )
    parser.add_argument(
        "--dashboard-token",
        default=None,
        metavar="TOKEN",
        help="with --workshop: the instructor's token for the dashboard, which lists every api_key (default "
        "$FBFAILOVER_DASHBOARD_TOKEN, else a new random one); never the join token",
    )
    parser.add_argument(
        "--max-accounts",
        type=int,
        default=200,
        metavar="N",
        help="with --workshop: accounts the room may create, the instructor's included (default 200)",
    )
    parser.add_argument(
        "--secrets-file",
        default=None,
        metavar="PATH",
        help="with --workshop: where the instructor's account secrets and dashboard URL are written (mode 0600; "
        "default workshop-instructor.txt next to the database); they are never printed",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="with --workshop: the one URL attendees reach the sandbox at (e.g. behind a proxy); "
        "default: the address of each interface",
    )
    parser.add_argument(
        "--state-file",
        default=None,
        metavar="PATH",
        help="once listening, write the pid, URL and account here (mode 0600) instead of printing the secrets; "
        "end when the file is removed or names another process (the project's sandbox: see --stop)",
    )
    parser.add_argument(
        "--exit-when-idle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="end after this many real seconds without a request",
    )
    parser.add_argument(
        "--stop",
        action="store_true",
        help="stop the project's background sandbox (the one the notebooks share) and exit",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit status."""
    import asyncio
    import gc
    import os
    import secrets
    import signal
    import sys
    import time

    import tornado.netutil

    from fbfailover.background import LISTEN_BACKLOG, BoundedHTTPServer

    if args.stop:
        from .instance import stop_project_sandbox

        print(f"fbfailover sandbox: {stop_project_sandbox()}")
        return 0

    from .core import SandboxSettings
    from .http import SERVER_LIMITS
    from .server import assemble
    from .storage import StorageError, check_database, default_db

    if args.time_scale <= 0:
        print("fbfailover sandbox: --time-scale must be positive", file=sys.stderr)
        return 2
    if args.public_url is not None and not args.public_url.startswith(("http://", "https://")):
        print("fbfailover sandbox: --public-url must start with http:// or https://", file=sys.stderr)
        return 2
    db = args.db or default_db()
    try:
        check_database(db)
    except StorageError as exc:
        print(f"fbfailover sandbox: {exc}", file=sys.stderr)
        return 2
    token = dashboard = None
    if args.workshop:
        token = args.workshop_token or os.environ.get("FBFAILOVER_WORKSHOP_TOKEN") or secrets.token_urlsafe(12)
        dashboard = (args.dashboard_token or os.environ.get("FBFAILOVER_DASHBOARD_TOKEN")
                     or secrets.token_urlsafe(18))
        if dashboard == token:
            print("fbfailover sandbox: the dashboard token must differ from the workshop (join) token: attendees "
                  "have the join token, and the dashboard lists every api_key", file=sys.stderr)
            return 2
    if args.max_accounts < 1:
        print("fbfailover sandbox: --max-accounts must be at least 1", file=sys.stderr)
        return 2
    settings = SandboxSettings(
        time_scale=args.time_scale,
        clock=args.clock,
        api_key=args.api_key,
        api_secret=args.api_secret,
        signature_secret=args.signature_secret,
        workshop=args.workshop,
        instructor_token=token,
        dashboard_token=dashboard,
        max_accounts=args.max_accounts,
        loopback_only=args.host in LOOPBACK,
    )
    try:
        sockets = tornado.netutil.bind_sockets(args.port, address=args.host, backlog=LISTEN_BACKLOG)
    except OSError as exc:
        print(f"fbfailover sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sockets[0].getsockname()[1]
    try:
        core, app = assemble(db, settings)
    except StorageError as exc:  # another sandbox took the database since the check
        for sock in sockets:
            sock.close()
        print(f"fbfailover sandbox: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await core.start()
        # This process is the sandbox's own (never a learner's kernel), so it may tune its garbage collector:
        # what was loaded so far lives as long as the process, so keep it out of every collection.
        gc.freeze()
        watch = _Watch(app, args.state_file, args.exit_when_idle, stop)
        server = BoundedHTTPServer(app, **SERVER_LIMITS)  # header/body timeouts, a connection cap
        server.add_sockets(sockets)
        account = core.account
        url = f"http://{args.host}:{port}"
        print(f"fbfailover sandbox listening on {url}", flush=True)
        secrets_file = None
        if token:  # the room sees this terminal: the instructor's secrets and dashboard URL go to a 0600 file
            secrets_file = _write_instructor_file(args, core, url, port, dashboard)
            print(f"The instructor's account secrets and the dashboard URL are in {secrets_file} (mode 0600; "
                  "do not project it)", flush=True)
        if args.state_file:
            from .instance import SandboxState, write_state

            write_state(args.state_file, SandboxState(
                os.getpid(), url, str(core.db.path), account.api_key, account.api_secret, account.signature_secret,
                settings.time_scale, time.time()))
            print(f"api_key={account.api_key} (the secrets are in {args.state_file})", flush=True)
        elif not token:
            print(f"api_key={account.api_key} api_secret={account.api_secret} "
                  f"signature_secret={account.signature_secret}", flush=True)
        print(f"db={core.db.path} clock={settings.clock} time_scale={settings.time_scale:g}", flush=True)
        if token:
            print(join_instructions(args.host, port, token, public_url=args.public_url, secrets_file=secrets_file),
                  flush=True)
        watch.start()
        await stop.wait()
        watch.stop()
        server.stop()
        await core.stop()
        if watch.reason:
            print(f"fbfailover sandbox: stopped ({watch.reason})", flush=True)

    asyncio.run(main())
    return 0


class _Watch:
    """Ends the process when it has been idle too long or its state file no longer names it (checked each second).

    A request counts when it ends (an event stream's long-poll ends at least every 25 s), so a kernel that listens
    keeps the sandbox alive.
    """

    def __init__(self, app, state_file: str | None, idle: float | None, stop) -> None:
        import time

        self._clock = time.monotonic
        self.last = self._clock()
        self.state_file, self.idle, self._stop = state_file, idle, stop
        self.reason: str | None = None
        self._callback = None
        quiet = app.settings.get("log_function")

        def seen(handler) -> None:
            self.last = self._clock()
            if quiet is not None:
                quiet(handler)

        app.settings["log_function"] = seen

    def start(self) -> None:
        import tornado.ioloop

        if self.state_file or self.idle:
            self._callback = tornado.ioloop.PeriodicCallback(self._check, 1000)
            self._callback.start()

    def stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()

    def _check(self) -> None:
        import os

        from .instance import read_state

        if self.idle and self._clock() - self.last > self.idle:
            self.reason = f"no request for {self.idle:g} s"
        elif self.state_file:
            state = read_state(self.state_file)
            if state is None or state.pid != os.getpid():
                self.reason = f"{self.state_file} no longer names this process"
        if self.reason:
            self._stop.set()


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _write_instructor_file(args: argparse.Namespace, core, url: str, port: int, dashboard: str | None) -> str:
    """Write the instructor's account secrets and dashboard URL to a 0600 file; returns its path."""
    from pathlib import Path

    from fbfailover.config import data_dir

    from .instance import write_private

    if args.secrets_file:
        path = Path(args.secrets_file)
    elif str(core.db.path) != ":memory:":
        path = Path(core.db.path).with_name("workshop-instructor.txt")
    else:
        path = data_dir() / "workshop-instructor.txt"
    account = core.account
    first = args.public_url.rstrip("/") if args.public_url else url
    write_private(path, "\n".join([
        "# The instructor's account of this workshop sandbox and the dashboard: keep this file to yourself.",
        f"VONAGE_API_KEY={account.api_key}",
        f"VONAGE_API_SECRET={account.api_secret}",
        f"VONAGE_SIGNATURE_SECRET={account.signature_secret}",
        f"FBFAILOVER_DASHBOARD_TOKEN={dashboard}",
        f"# Instructor dashboard: {first}/_sandbox/workshop?token={dashboard}",
        "",
    ]))
    return str(path)


def join_instructions(host: str, port: int, token: str, *, public_url: str | None = None,
                      found: list[tuple[str, str]] | None = None, secrets_file: str | None = None) -> str:
    """What an instructor reads out or writes on the board: an attendee's ``.env`` lines and the dashboard URL.

    Args:
        host: the bind address.
        port: the port listened on.
        token: the workshop token.
        public_url: the one URL attendees reach the sandbox at (``--public-url``): printed alone when given.
        found: ``(interface, address)`` pairs instead of this machine's (for tests).

    Returns:
        The lines, joined.
    """
    from .addresses import EVERY_INTERFACE, reachable_hosts, url_host

    if public_url:
        urls = [public_url.rstrip("/")]
    else:
        urls = [f"http://{url_host(shown)}:{port}" for shown in reachable_hosts(host, found)]
    if len(urls) > 1:
        lines = ["workshop mode: every attendee gets an account of their own. Attendees add to .env the URL of "
                 "this machine on their network (one of these), and the token:"]
    else:
        lines = ["workshop mode: every attendee gets an account of their own. Attendees add these two lines to .env:"]
    lines += [f"  FBFAILOVER_SANDBOX_URL={url}" for url in urls]
    if not urls:
        lines.append(f"  FBFAILOVER_SANDBOX_URL=http://ADDRESS:{port}   (no address other than loopback was found: "
                     "pass --public-url with the URL attendees can reach)")
    first = urls[0] if urls else f"http://127.0.0.1:{port}"
    lines += [
        f"  FBFAILOVER_WORKSHOP_TOKEN={token}",
        "Their notebooks then create the account on first use and save its credentials in .env. By hand:",
        f"  curl -X POST -H 'X-Workshop-Token: {token}' {first}/_sandbox/accounts",
    ]
    if not public_url and host in LOOPBACK:
        lines.append("Only this machine can reach 127.0.0.1: use --host 0.0.0.0 to serve the room.")
    elif not public_url and host in EVERY_INTERFACE:
        lines.append("Behind a proxy or NAT, pass --public-url with the address attendees reach instead.")
    where = secrets_file or "the instructor's secrets file"
    lines.append(f"Instructor dashboard: {first}/_sandbox/workshop?token=... with the dashboard token in {where} "
                 "(not the join token: the dashboard lists every api_key)")
    return "\n".join(lines)
