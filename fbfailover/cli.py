"""The ``fbfailover`` command: ``jwt``, ``app create``, ``send failover``, ``account restore-webhooks``, plus
``doctor``, ``sandbox`` and ``receiver``.

The commands mirror the nexmo-cli steps of the tutorial. Options default to the settings (environment
and ``.env``). Exit status: 0 success, 1 the API answered an error or could not be reached, 2 bad input
(validation, settings, key or token problems); the reason is one line on stderr. Heavy modules are
imported inside the commands so ``fbfailover --help`` starts quickly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main"]


def _jwt(args: argparse.Namespace) -> int:
    from .config import load_settings
    from .errors import TokenError
    from .tokens import mint_application_jwt

    settings = load_settings().replace(**_given(args, application_id="application_id",
                                                 private_key_path="private_key"))
    settings.require("application_id", "private_key_path")
    try:
        acl = json.loads(args.acl) if args.acl is not None else None
    except ValueError as exc:
        example = '{"paths": {"/*/users/**": {}}}'
        raise TokenError(f"--acl must be JSON such as '{example}': {exc}") from exc
    claims: dict[str, Any] = {}
    for item in args.claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise TokenError(f"--claim must look like name=value, got {item!r}")
        claims[name] = _json_or_text(value)
    print(mint_application_jwt(settings.application_id, settings.private_key_path,  # type: ignore[arg-type]
                               ttl=args.ttl, acl=acl, claims=claims or None))
    return 0


def _json_or_text(value: str) -> Any:
    """A claim value is JSON when it parses (numbers, objects, true), text otherwise."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _given(args: argparse.Namespace, **fields: str) -> dict[str, Any]:
    """Map Settings fields to the command-line options that were given (None means "use the setting")."""
    return {field: getattr(args, option) for field, option in fields.items()
            if getattr(args, option) is not None}


def _app_create(args: argparse.Namespace) -> int:
    from .client import VonageClient
    from .config import load_settings, update_env_file
    from .errors import ApiError, KeyExistsError, KeyNotFoundError
    from .keys import save_private_key
    from .payloads import application_body

    public_key = None
    if args.public_key_file:
        try:
            public_key = Path(args.public_key_file).read_text(encoding="ascii")
        except FileNotFoundError as exc:
            raise KeyNotFoundError(f"public key file not found: {args.public_key_file}") from exc
    body = application_body(args.name, args.inbound_url, args.status_url, public_key)
    keyfile = Path(args.keyfile)
    # Checked before creating the application, so a refusal never leaves an application without its key.
    if public_key is None and keyfile.exists() and not args.force:
        raise KeyExistsError(f"{keyfile} already exists; choose another --keyfile or pass --force")
    settings = load_settings()
    with VonageClient(settings) as client:
        created = client.create_application(body)
    app_id = created.get("id")
    print(f"application id: {app_id}")
    if public_key is None:
        pem = (created.get("keys") or {}).get("private_key")
        if not pem:
            raise ApiError(201, title="No private key in the answer",
                           detail=f"application {app_id} was created without keys.private_key; "
                                  f"delete it and retry")
        path = save_private_key(pem, keyfile, overwrite=args.force)
        print(f"private key written to {path} (mode 0600; keep it secret)")
    if args.save_env:
        changes = {"VONAGE_APPLICATION_ID": app_id}
        if public_key is None:
            changes["VONAGE_PRIVATE_KEY_PATH"] = str(keyfile.resolve())
        print(f"settings saved to {update_env_file(changes, settings.env_file)}")
    return 0


def _send_failover(args: argparse.Namespace) -> int:
    from .client import VonageClient
    from .config import load_settings
    from .payloads import to_curl, tutorial_workflow

    settings = load_settings().replace(**_given(
        args, from_number="from_number", to_number="to_number", fb_sender_id="fb_sender_id",
        fb_recipient_id="fb_recipient_id"))
    settings.require("from_number", "to_number", "fb_sender_id", "fb_recipient_id")
    texts = {k: v for k, v in (("text_messenger", args.text_messenger), ("text_sms", args.text_sms)) if v}
    people = {"from_number": settings.from_number, "to_number": settings.to_number,
              "fb_sender_id": settings.fb_sender_id, "fb_recipient_id": settings.fb_recipient_id}
    body = tutorial_workflow(**people, expiry_time=args.expiry, condition_status=args.condition, **texts)
    with VonageClient(settings) as client:
        if args.curl:
            print(to_curl(client.request_for("send_workflow", body, args.auth)))
            return 0
        answer = client.send_workflow(body, auth=args.auth)
    print(answer.get("dispatch_uuid") or json.dumps(answer))
    return 0


def _restore_webhooks(args: argparse.Namespace, *, ask: Any = input) -> int:
    from .config import load_settings
    from .tutorial import Tutorial, restore_account_webhooks

    settings = load_settings().require("api_key", "api_secret")
    tut = Tutorial("live", settings)  # a real account (or the one VONAGE_REST_URL names): always confirm
    try:
        shown = restore_account_webhooks(tut)
        print(shown.title)
        for line in shown.lines[:-1] if shown.data.get("pending") else shown.lines:
            print(f"  {line[0]}: {line[1]}" if isinstance(line, tuple) else f"  {line}")
        if not shown.data.get("pending"):
            return 0
        if not args.yes:
            try:
                answer = ask("Apply this change to the account? [y/N] ")
            except (EOFError, OSError):  # no terminal to ask on: the answer is no
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing was changed.", file=sys.stderr)
                return 1
        print(restore_account_webhooks(tut, confirm=True).title)
        return 0
    finally:
        tut.client.close()


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser, the ``sandbox`` and ``receiver`` subcommands included."""
    from .sandbox import cli as sandbox_cli
    from .webhooks import cli as webhooks_cli

    parser = argparse.ArgumentParser(
        prog="fbfailover",
        description="Send a Facebook Messenger message with SMS failover through Vonage's Dispatch API, "
                    "or its offline sandbox.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    jwt = sub.add_parser("jwt", help="mint an application JWT and print only the token",
                         description="Mint an RS256 JWT for an application (like nexmo jwt:generate).")
    jwt.add_argument("--application-id", help="application id (default: VONAGE_APPLICATION_ID)")
    jwt.add_argument("--private-key", metavar="FILE",
                     help="private key file (default: VONAGE_PRIVATE_KEY_PATH)")
    jwt.add_argument("--ttl", type=int, default=900, metavar="SECONDS",
                     help="lifetime, at most 86400 (default 900)")
    jwt.add_argument("--acl", metavar="JSON", help='access list, e.g. \'{"paths": {"/*/users/**": {}}}\'')
    jwt.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                     help="extra claim; the value is parsed as JSON when it can be (repeatable)")
    jwt.set_defaults(func=_jwt)

    app = sub.add_parser("app", help="manage Vonage applications").add_subparsers(
        dest="app_command", metavar="ACTION", required=True)
    create = app.add_parser("create", help="create a Messages and Dispatch application",
                            description="Create an application. Vonage generates the key pair unless "
                                        "--public-key-file is given; the private key goes to --keyfile.")
    create.add_argument("name")
    create.add_argument("--inbound-url", required=True, help="webhook for inbound messages")
    create.add_argument("--status-url", required=True, help="webhook for message status and dispatch reports")
    create.add_argument("--keyfile", default="private.key",
                        help="where to write the private key (default: %(default)s)")
    create.add_argument("--public-key-file", help="use your own key pair: the PEM public key to register")
    create.add_argument("--force", action="store_true", help="overwrite an existing --keyfile")
    create.add_argument("--save-env", action="store_true",
                        help="store the application id and key path in .env")
    create.set_defaults(func=_app_create)

    send = sub.add_parser("send", help="send messages").add_subparsers(
        dest="send_command", metavar="WHAT", required=True)
    failover = send.add_parser("failover",
                               help="Messenger first, then SMS if not read in time; prints the dispatch_uuid")
    failover.add_argument("--from-number", help="SMS sender, E.164 without '+' (default: FROM_NUMBER)")
    failover.add_argument("--to-number", help="SMS recipient (default: TO_NUMBER)")
    failover.add_argument("--fb-sender-id", help="your Facebook Page id (default: FB_SENDER_ID)")
    failover.add_argument("--fb-recipient-id", help="the user's PSID (default: FB_RECIPIENT_ID)")
    failover.add_argument("--expiry", type=int, default=600, metavar="SECONDS",
                          help="seconds to wait for the condition, 15..86400 (default 600)")
    failover.add_argument("--condition", default="read", choices=["read", "delivered"],
                          help="status the Messenger message must reach in time (default read)")
    failover.add_argument("--text-messenger", help="text of the Messenger message")
    failover.add_argument("--text-sms", help="text of the SMS")
    failover.add_argument("--auth", default="jwt", choices=["jwt", "basic"],
                          help="how to authenticate (default jwt)")
    failover.add_argument("--curl", action="store_true",
                          help="print the equivalent curl command instead of sending")
    failover.set_defaults(func=_send_failover)

    account = sub.add_parser("account", help="account-wide settings").add_subparsers(
        dest="account_command", metavar="ACTION", required=True)
    restore = account.add_parser(
        "restore-webhooks", help="put back the account webhook URLs the tutorial replaced",
        description="Show the account's current inbound and delivery-receipt webhook URLs next to the ones the "
                    "tutorial kept before its first change, then put those back once confirmed.")
    restore.add_argument("--yes", action="store_true", help="apply without asking (the change is still shown)")
    restore.set_defaults(func=_restore_webhooks)

    doctor = sub.add_parser(
        "doctor", help="check the set-up: versions, .env and mode, the receiver, the tunnel, the credentials",
        description="Print a checklist of the set-up. In live mode (or with FBFAILOVER_PUBLIC_URL set) a nonce is "
                    "sent to FBFAILOVER_PUBLIC_URL and must arrive at the receiver on FBFAILOVER_RECEIVER_PORT. "
                    "Exit status 1 when a check fails. Every request is a GET: nothing is changed.")
    doctor.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="seconds to wait for each answer (default 10)")
    doctor.set_defaults(func=_doctor)

    sandbox_cli.register(sub)
    webhooks_cli.register(sub)
    return parser


def _doctor(args: argparse.Namespace) -> int:
    from .config import load_settings
    from .doctor import checks, report

    found = checks(load_settings(), timeout=args.timeout)
    print(report(found))
    return 1 if any(c.ok is False for c in found) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Returns:
        0 on success, 1 when the API failed or was unreachable, 2 for bad input.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    from .errors import ApiError, FbfailoverError, TransportError, ValidationError

    try:
        return int(args.func(args) or 0)
    except (ApiError, TransportError) as exc:
        print(f"fbfailover: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:  # every problem, still on one line
        print("fbfailover: " + "; ".join(f"{p['name']}: {p['reason']}" for p in exc.invalid_parameters),
              file=sys.stderr)
        return 2
    except FbfailoverError as exc:
        print(f"fbfailover: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
