"""Steps 00 to 03 of the tutorial as plain functions: check, webhooks, application, JWT (the Facebook ids of
step 01 are in ``facebook_ids.py``).

Each takes the ``Tutorial`` session, does one thing through the package's helpers and returns a ``Panel``
whose text is the same on every run (ids, ports and times are in forms the notebooks' sanitize file masks).
"""

from __future__ import annotations

import importlib.metadata
import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fbfailover.config import ENV_NAMES, is_local_url
from fbfailover.errors import ConfigError, NotFoundError
from fbfailover.keys import generate_private_key, load_private_key, private_pem, public_pem, save_private_key
from fbfailover.payloads import application_body
from fbfailover.tokens import decode_for_display, mint_application_jwt, verify_application_jwt
from fbfailover.tutorial.changes import (
    ACCOUNT_FIELDS,
    CONFIRM_HINT,
    Change,
    forget_originals,
    load_originals,
    needs_confirmation,
    originals_file,
    save_originals,
)
from fbfailover.tutorial.display import Panel, json_block
from fbfailover.tutorial.facebook_ids import learn_facebook_ids
from fbfailover.tutorial.gallery import Failure, try_request
from fbfailover.tutorial.session import LIVE, SHARED, Tutorial
from fbfailover.tutorial.twins import curl_twin

__all__ = [
    "DEFAULT_APP_NAME",
    "configure_account_webhooks",
    "create_or_reuse_application",
    "ensure_application",
    "mint_token",
    "prerequisites",
    "require_public_url",
    "require_round_trip",
    "restore_account_webhooks",
    "unreachable_account_webhook",
]

DEFAULT_APP_NAME = "FB Messenger failover tutorial"


def _required() -> list[str]:
    """The package's runtime dependencies, as its own metadata (from pyproject.toml) lists them."""
    requires = importlib.metadata.requires("fbfailover") or []
    return [re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in requires if "extra ==" not in r]


# What an unset setting means, and who sets it.
_UNSET = {
    "application_id": "not set yet: step 02 creates the application and saves it",
    "private_key_path": "not set yet: step 02 saves the key pair's private half",
    "from_number": "not set: the steps use the tutorial's example sender 447700900000 (live: put your Vonage "
                   "number in .env)",
    "to_number": "not set: the steps use the example phone 447700900001 (live: put the phone that gets the SMS "
                 "in .env)",
    "fb_sender_id": "not set yet: step 01 learns it from a message to your Page",
    "fb_recipient_id": "not set yet: step 01 learns it from a message to your Page",
}


def prerequisites(tut: Tutorial) -> Panel:
    """Check Python, the packages, which settings are set, and say which mode the notebooks run in."""
    ok = sys.version_info >= (3, 10)
    lines: list[Any] = [("Python 3.10 or newer", "ok" if ok else f"NO — found {sys.version.split()[0]}")]
    try:
        required = _required()
    except importlib.metadata.PackageNotFoundError:
        required = []
        lines.append(("fbfailover", "NOT INSTALLED — run `make lab` (or postBuild) again"))
    for name in required:
        try:
            importlib.metadata.version(name)
            lines.append((name, "installed"))
        except importlib.metadata.PackageNotFoundError:
            lines.append((name, "MISSING — run `make lab` again"))
    file_settings = tut.settings
    for fieldname, unset in _UNSET.items():
        lines.append((ENV_NAMES[fieldname][0], "set" if getattr(file_settings, fieldname) else unset))
    lines.append(("mode", tut.mode))
    problems = [v for _, v in lines if str(v).startswith(("MISSING", "NOT INSTALLED"))]
    return Panel("Prerequisites", lines, data={"ok": ok and not problems})


def require_public_url(tut: Tutorial) -> None:
    """Stop before a live change when Vonage could not reach the webhook receiver.

    Live against Vonage, webhooks come from the internet: they need ``FBFAILOVER_PUBLIC_URL``, a tunnel to the
    receiver's port. An API on this machine or a private network (a mock, a standalone sandbox) reaches the
    receiver directly, so it needs none.

    Raises:
        ConfigError: in live mode without ``FBFAILOVER_PUBLIC_URL``, naming the tunnel command and both settings.
    """
    s = tut.settings
    if tut.offline or s.public_url or (is_local_url(s.api_url) and is_local_url(s.rest_url)):
        return
    raise ConfigError(
        f"live mode needs a public address for the webhook receiver before anything is created or changed: "
        f"start a tunnel to its port with `ngrok http {s.receiver_port}`, then set FBFAILOVER_PUBLIC_URL to the "
        f"tunnel's https address (FBFAILOVER_RECEIVER_PORT={s.receiver_port} is the port; both are in .env.example)")


def require_round_trip(tut: Tutorial) -> None:
    """In live mode with a tunnel, stop before anything changes when the tunnel does not reach the receiver.

    The same round trip as ``fbfailover doctor``: a nonce sent to ``FBFAILOVER_PUBLIC_URL`` must arrive at the
    receiver on ``FBFAILOVER_RECEIVER_PORT``.

    Raises:
        ConfigError: the round trip failed; the message says why (DNS, refused, TLS, another service, another port).
    """
    if tut.mode != LIVE or not tut.settings.public_url:
        return
    from fbfailover.doctor import round_trip

    check = round_trip(tut.settings.public_url, tut.settings.receiver_port)
    if not check.ok:
        raise ConfigError(f"nothing was changed: {check.detail} (`fbfailover doctor` checks the whole set-up)")


def _account_panel(tut: Tutorial, title: str, changes: list[Change], request: Any, data: dict[str, Any]) -> Panel:
    code = [curl_twin(tut, request)] if request is not None else []
    return Panel(title, [c.line() for c in changes], code=code, data=data)


def configure_account_webhooks(tut: Tutorial, confirm: bool | None = None) -> Panel:
    """Point the account-level inbound and delivery-receipt webhooks at the local receiver, showing old → new.

    This is the tutorial's dashboard step ("Webhook URL for Inbound Message" / "for Delivery Receipt"), done
    with the Account settings API. These URLs are account-wide: the current ones are read first and shown
    next to the new ones. In live mode nothing changes until ``confirm=True``; the first change keeps the
    original URLs in the data folder (see ``restore_account_webhooks``). The offline sandbox needs no confirmation.

    Args:
        confirm: apply the change in live mode; without it the change is only shown.

    Returns:
        A panel; ``data["pending"]`` is True when the change waits for confirmation.

    Raises:
        ConfigError: live mode without ``FBFAILOVER_PUBLIC_URL`` (see ``require_public_url``).
    """
    require_public_url(tut)
    receiver = tut.receiver or tut.start_receiver()
    require_round_trip(tut)
    new = {"mo-callback-url": receiver.inbound_sms_url, "dr-callback-url": receiver.delivery_receipt_url}
    current = tut.client.account_settings()
    changes = [Change(label, current.get(key), new[key]) for key, label in ACCOUNT_FIELDS.items()]
    request = tut.client.request_for("update_account_settings", new["mo-callback-url"], new["dr-callback-url"])
    if not any(c.changed for c in changes):
        return _account_panel(tut, "Account webhooks already set: nothing to change", changes, request,
                              {**current, "pending": False})
    if needs_confirmation(tut.offline, confirm):
        panel = _account_panel(tut, "Account webhooks: change to confirm", changes, request,
                               {**current, "pending": True})
        panel.lines.append(CONFIRM_HINT)
        return panel
    kept = save_originals(tut.settings.api_key, tut.settings.rest_url, current, tut.environ)
    answer = tut.client.update_account_settings(new["mo-callback-url"], new["dr-callback-url"])
    panel = _account_panel(tut, "Account webhooks set", changes, request, {**answer, "pending": False})
    panel.lines.extend(_where_webhooks_go(tut))
    if not tut.offline:
        panel.lines.append(("the URLs before the tutorial", "kept in the data folder" if kept else
                            "already kept from an earlier change; restore_account_webhooks(tut) puts them back"))
    return panel


def _receiver_kind(tut: Tutorial) -> str:
    """What the receiver's URLs are, in a few words."""
    from fbfailover.sandbox.project import ProjectSandbox

    if tut.mode == SHARED:
        return "the room's sandbox, which keeps them for your account; this notebook listens to it"
    if isinstance(tut.sandbox, ProjectSandbox):
        return ("the project's sandbox, which keeps them in a mailbox; every open notebook of this project "
                "listens to it")
    if tut.mode == LIVE and tut.settings.public_url:
        return "your tunnel, to the project's one receiver; every open notebook of this project listens to it"
    return "the receiver in this notebook"


def _where_webhooks_go(tut: Tutorial, addresses: list[str] | None = None) -> list[tuple[str, str]]:
    """The line of a panel that shows webhook URLs: where they lead (and a warning when not to this receiver).

    Args:
        addresses: the URLs the panel shows (default: the receiver's own).
    """
    receiver = tut.receiver
    ours = set(receiver.urls.values()) if receiver is not None else set()
    if addresses is not None and not set(addresses) <= ours:
        return [("where webhooks go", "not to this notebook's receiver: the webhooks sent to these URLs do not "
                                      "show here")]
    return [("where webhooks go", _receiver_kind(tut))] if ours else []


def _closed_local_port() -> int:
    """A port of this machine that nothing listens on (bound, then released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_account_webhook(tut: Tutorial) -> Failure | Panel:
    """The usual mistake with a tunnel, made on purpose: an account webhook URL that does not answer.

    Vonage saves an account-level callback URL only when it answers 200 OK (its Account API reference). A tunnel
    whose receiver is not running (or that has expired) does not, so the settings call is refused and nothing
    changes. In the sandbox the URL is a port of this machine where nothing listens; in live mode nothing is sent:
    this demonstration never touches a real account.

    Returns:
        What the API answered (offline), or a panel saying why nothing was sent (live).
    """
    if not tut.offline:
        return Panel("Not sent in live mode: this demonstration never changes your account", [
            "Vonage refuses an account webhook URL that does not answer 200 OK, e.g. a tunnel whose receiver "
            "is not running; nothing changes then"])
    down = f"http://127.0.0.1:{_closed_local_port()}/webhooks/inbound-sms"
    return try_request(tut, tut.client.request_for("update_account_settings", down, None),
                       what="an inbound URL whose receiver is not running",
                       notes=[("wrong on purpose", f"moCallBackUrl = {down} (nothing listens there)")])


def restore_account_webhooks(tut: Tutorial, confirm: bool | None = None) -> Panel:
    """Put back the account webhook URLs the tutorial's first change replaced, showing current → original.

    Args:
        confirm: apply in live mode; without it the change is only shown (the sandbox needs none).

    Returns:
        A panel; ``data["pending"]`` is True when the change waits for confirmation.
    """
    s = tut.settings
    originals = load_originals(s.api_key, s.rest_url, tut.environ)
    if originals is None:
        return Panel("Nothing to restore: the tutorial has not changed this account's webhooks", [
            ("kept originals", str(originals_file(tut.environ)))], data={"pending": False, "restored": False})
    current = tut.client.account_settings()
    changes = [Change(label, current.get(key), originals.get(key) or "") for key, label in ACCOUNT_FIELDS.items()]
    mo, dr = originals.get("mo-callback-url") or "", originals.get("dr-callback-url") or ""
    request = tut.client.request_for("update_account_settings", mo, dr)
    if needs_confirmation(tut.offline, confirm):
        panel = _account_panel(tut, "Restore the account webhooks: change to confirm", changes, request,
                               {**current, "pending": True, "restored": False})
        panel.lines.append(CONFIRM_HINT)
        return panel
    answer = tut.client.update_account_settings(mo, dr)
    forget_originals(s.api_key, s.rest_url, tut.environ)
    return _account_panel(tut, "Account webhooks restored", changes, request,
                          {**answer, "pending": False, "restored": True})


def _keyfile(tut: Tutorial) -> Path:
    return Path(tut.settings.private_key_path or tut.env_file.parent / "private.key")


def _existing_application(tut: Tutorial) -> dict[str, Any] | None:
    app_id, keyfile = tut.settings.application_id, tut.settings.private_key_path
    if not app_id or not keyfile or not Path(keyfile).is_file():
        return None
    try:
        return tut.client.get_application(app_id)
    except NotFoundError:
        return None


def _application_changes(app: dict[str, Any], body: dict[str, Any]) -> list[Change]:
    """What a PUT of ``body`` would change in ``app``: name, webhook URLs, webhook format, public key."""
    old_m, new_m = app.get("capabilities", {}).get("messages", {}), body["capabilities"]["messages"]
    old_hooks, new_hooks = old_m.get("webhooks", {}), new_m["webhooks"]
    old_key = (app.get("keys") or {}).get("public_key", "").strip()
    new_key = body.get("keys", {}).get("public_key", "").strip()
    return [
        Change("name", app.get("name"), body["name"]),
        Change("inbound URL", old_hooks.get("inbound_url", {}).get("address"), new_hooks["inbound_url"]["address"]),
        Change("status URL", old_hooks.get("status_url", {}).get("address"), new_hooks["status_url"]["address"]),
        Change("webhook format", old_m.get("version") or "(account default)", new_m["version"]),
        Change("public key", "the one on file" if old_key else None,
               "the one on file" if old_key == new_key or not new_key else "the key of your private.key"),
    ]


def create_or_reuse_application(tut: Tutorial, name: str = DEFAULT_APP_NAME, inbound_url: str | None = None,
                                status_url: str | None = None, key_source: str = "local",
                                confirm: bool | None = None, *, body: Mapping[str, Any] | None = None) -> Panel:
    """Create the Messages and Dispatch application, or reuse the one in ``.env`` and update its webhooks.

    Updating an existing application shows each change old → new; in live mode it waits for ``confirm=True``
    (another program may rely on its URLs). Nothing is sent when nothing would change.

    Args:
        name: the application's name; inbound_url / status_url: default to the running receiver's URLs.
        key_source: ``"local"`` generates the key pair here and uploads the public key; ``"api"`` lets the
            API generate it and saves the private key it returns (once).
        confirm: apply an update in live mode; without it the update is only shown.
        body: the request body to send as it is (built with ``application_body`` and perhaps edited by the
            learner) instead of one built from ``name`` and the URLs; the key pair's public half is added to it.

    Returns:
        A panel; ``data["pending"]`` is True when an update waits for confirmation.

    Raises:
        ConfigError: live mode without ``FBFAILOVER_PUBLIC_URL`` (see ``require_public_url``).
    """
    if key_source not in ("local", "api"):
        raise ValueError("key_source must be 'local' or 'api'")
    require_public_url(tut)
    receiver = tut.receiver
    inbound_url = inbound_url or (receiver.inbound_url if receiver else None)
    status_url = status_url or (receiver.status_url if receiver else None)
    existing = _existing_application(tut)
    keyfile = _keyfile(tut)
    changes: list[Change] = []
    given = body

    def built(public_key: str | None) -> dict[str, Any]:
        if given is None:
            return application_body(name, inbound_url, status_url, public_key=public_key)
        made = {k: v for k, v in given.items() if k != "keys"}
        return {**made, "keys": {"public_key": public_key}} if public_key else made

    if existing is not None:
        public = public_pem(load_private_key(keyfile))
        body = built(public)
        request = tut.client.request_for("update_application", existing["id"], body)
        changes = _application_changes(existing, body)
        if not any(c.changed for c in changes):
            app, verb = existing, "Reusing the application saved in .env (nothing to change)"
        elif needs_confirmation(tut.offline, confirm):
            panel = Panel("Reusing the application saved in .env: update to confirm",
                          [("application id", existing["id"]), *(c.line() for c in changes), CONFIRM_HINT],
                          code=[curl_twin(tut, request)],
                          data={"application": existing, "pending": True})
            return panel
        else:
            app = tut.client.update_application(existing["id"], body)
            verb = "Reusing the application saved in .env, updated"
    else:
        key = generate_private_key() if key_source == "local" else None
        body = built(public_pem(key) if key else None)
        request = tut.client.request_for("create_application", body)
        app = tut.client.create_application(body)
        pem = private_pem(key) if key is not None else app["keys"]["private_key"]
        save_private_key(pem, keyfile, overwrite=True)
        tut.save(VONAGE_APPLICATION_ID=app["id"], VONAGE_PRIVATE_KEY_PATH=keyfile.name)
        verb = ("Created a new application; the key pair was generated here" if key is not None
                else "Created a new application; the API generated the key pair")
    hooks = app["capabilities"]["messages"]["webhooks"]
    lines: list[Any] = [
        ("application id", app["id"]),
        ("name", app["name"]),
        ("inbound URL", hooks["inbound_url"]["address"]),
        ("status URL", hooks["status_url"]["address"]),
        ("webhook format", app["capabilities"]["messages"].get("version") or "(account default)"),
        ("private key", f"{keyfile.name} (mode {keyfile.stat().st_mode & 0o777:o}, never shown)"),
        *_where_webhooks_go(tut, [hooks["inbound_url"]["address"], hooks["status_url"]["address"]]),
    ]
    if existing is not None and key_source == "api":
        lines.append(("key pair", "kept: the API generates a key pair only when it creates an application. To have "
                                  "it make one, forget this one first: tut.save(VONAGE_APPLICATION_ID=None)"))
    if any(c.changed for c in changes):
        lines.append(("changed", "; ".join(f"{label}: {value}" for label, value in
                                           (c.line() for c in changes if c.changed))))
    return Panel(verb, lines, code=[curl_twin(tut, request)],
                 data={"application": app, "pending": False})


def ensure_application(tut: Tutorial, confirm: bool | None = None, *, full: bool = False) -> Panel:
    """Make sure this session has a receiver and an application whose webhooks point at it.

    Steps 03 to 05 start with this: it reuses the application saved by step 02 (pointing its webhooks at
    this session's receiver when they lead elsewhere) or, when there is none yet, creates one and says so. In
    the sandbox it also learns the Facebook ids (as step 01 does) when they are not set yet. In live mode,
    re-pointing an existing application is shown first and waits for ``confirm=True``, as in
    ``create_or_reuse_application``.

    Args:
        confirm: in live mode, True applies a change to an existing application (see above).
        full: show the whole application panel with its curl request (public key included), as step 02 does;
            by default the application is one line, since step 02 already showed the request.

    Returns:
        The panel; ``panel["application"]`` is the application as the API returned it.

    Raises:
        ConfigError: live mode without ``FBFAILOVER_PUBLIC_URL`` (see ``require_public_url``).
    """
    require_public_url(tut)
    if tut.receiver is None or not tut.receiver.running:
        tut.start_receiver()
    before = tut.settings.application_id
    panel = create_or_reuse_application(tut, confirm=confirm)
    if panel.data.get("pending"):
        return panel
    if not full:
        app = panel["application"]
        title = (f"Reusing application {app['id']} from step 02" if app["id"] == before
                 else f"Created application {app['id']} (there was none from step 02 yet)")
        hooks = app["capabilities"]["messages"]["webhooks"]
        panel = Panel(title, ["step 02 shows the request in full", *_where_webhooks_go(
            tut, [hooks["inbound_url"]["address"], hooks["status_url"]["address"]])], data=panel.data)
    if tut.settings.fb_sender_id and tut.settings.fb_recipient_id:
        panel.lines.append(("Facebook ids", "FB_SENDER_ID and FB_RECIPIENT_ID from .env"))
    elif tut.offline:  # started here without step 01: do what it does, quietly
        configure_account_webhooks(tut)
        learn_facebook_ids(tut)
        panel.lines.append(("Facebook ids", "learned from a simulated inbound message (step 01 shows how)"))
    else:
        panel.lines.append(("Facebook ids", "not set yet: run step 01 to receive a message from your Page"))
    return panel


def mint_token(tut: Tutorial, ttl: int = 900, acl: dict | None = None) -> Panel:
    """Mint the application JWT, decode it, and verify it with the public key the API holds."""
    settings = tut.settings.require("application_id", "private_key_path")
    token = mint_application_jwt(settings.application_id, settings.private_key_path, ttl=ttl, acl=acl)
    shown = decode_for_display(token)
    public_key = tut.client.get_application(settings.application_id)["keys"]["public_key"]
    verify_application_jwt(token, public_key)
    return Panel("Application JWT", [
        ("token", f"{token[:16]}… ({len(token)} characters; shown in full only to your code)"),
        ("signature", "verified with the application's public key from the Applications API"),
        ("lifetime", f"{shown['times'].get('lifetime_seconds')} s"),
    ], code=[("header", json_block(shown["header"])), ("claims", json_block(shown["claims"]))],
        data={"token": token, **shown})
