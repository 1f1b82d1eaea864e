"""Steps 00 to 03 of the tutorial as plain functions: check, webhooks, application, JWT (the Facebook ids of
step 01 are in ``facebook_ids.py``).

Each takes the ``Tutorial`` session, does one thing through the package's helpers and returns a ``Panel``
whose text is the same on every run (ids, ports and times are in forms the notebooks' sanitize file masks).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

from fbfailover.config import ENV_NAMES
from fbfailover.errors import NotFoundError
from fbfailover.keys import generate_private_key, load_private_key, private_pem, public_pem, save_private_key
from fbfailover.payloads import application_body, to_curl
from fbfailover.tokens import decode_for_display, mint_application_jwt, verify_application_jwt
from fbfailover.tutorial.display import Panel, json_block
from fbfailover.tutorial.facebook_ids import learn_facebook_ids
from fbfailover.tutorial.session import SHARED, Tutorial

__all__ = [
    "DEFAULT_APP_NAME",
    "configure_account_webhooks",
    "create_or_reuse_application",
    "ensure_application",
    "mint_token",
    "prerequisites",
]

DEFAULT_APP_NAME = "FB Messenger failover tutorial"


def _required() -> list[str]:
    """The package's runtime dependencies, as its own metadata (from pyproject.toml) lists them."""
    requires = importlib.metadata.requires("fbfailover") or []
    return [re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in requires if "extra ==" not in r]


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
    for fieldname in ("application_id", "private_key_path", "from_number", "to_number", "fb_sender_id",
                      "fb_recipient_id"):
        lines.append((ENV_NAMES[fieldname][0], "set" if getattr(file_settings, fieldname) else "not set yet"))
    lines.append(("mode", tut.mode))
    problems = [v for _, v in lines if str(v).startswith(("MISSING", "NOT INSTALLED"))]
    return Panel("Prerequisites", lines, data={"ok": ok and not problems})


def configure_account_webhooks(tut: Tutorial) -> Panel:
    """Point the account-level inbound and delivery-receipt webhooks at the local receiver.

    This is the tutorial's dashboard step ("Webhook URL for Inbound Message" / "for Delivery Receipt"),
    done with the Account settings API.
    """
    receiver = tut.receiver or tut.start_receiver()
    mo, dr = receiver.inbound_sms_url, receiver.delivery_receipt_url
    request = tut.client.request_for("update_account_settings", mo, dr)
    answer = tut.client.update_account_settings(mo, dr)
    return Panel("Account webhooks set", [
        ("Webhook URL for Inbound Message", answer.get("mo-callback-url")),
        ("Webhook URL for Delivery Receipt", answer.get("dr-callback-url")),
        *_where_webhooks_go(tut),
    ], code=[("the same request with curl", to_curl(request))], data=answer)


def _where_webhooks_go(tut: Tutorial) -> list[tuple[str, str]]:
    """A line for the panels that show webhook URLs, when those URLs are a shared sandbox's mailbox."""
    if tut.mode != SHARED:
        return []
    return [("where webhooks go", "in a workshop your webhooks go to the room's sandbox, and this notebook "
                                  "listens to it")]


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


def create_or_reuse_application(tut: Tutorial, name: str = DEFAULT_APP_NAME, inbound_url: str | None = None,
                                status_url: str | None = None, key_source: str = "local") -> Panel:
    """Create the Messages and Dispatch application, or reuse the one in ``.env`` and update its webhooks.

    Args:
        name: the application's name; inbound_url / status_url: default to the running receiver's URLs.
        key_source: ``"local"`` generates the key pair here and uploads the public key; ``"api"`` lets the
            API generate it and saves the private key it returns (once).
    """
    if key_source not in ("local", "api"):
        raise ValueError("key_source must be 'local' or 'api'")
    receiver = tut.receiver
    inbound_url = inbound_url or (receiver.inbound_url if receiver else None)
    status_url = status_url or (receiver.status_url if receiver else None)
    existing = _existing_application(tut)
    keyfile = _keyfile(tut)
    if existing is not None:
        public = public_pem(load_private_key(keyfile))
        body = application_body(name, inbound_url, status_url, public_key=public)
        request = tut.client.request_for("update_application", existing["id"], body)
        app = tut.client.update_application(existing["id"], body)
        verb = "Reusing the application saved in .env (its webhooks now point at this receiver)"
    else:
        key = generate_private_key() if key_source == "local" else None
        body = application_body(name, inbound_url, status_url, public_key=public_pem(key) if key else None)
        request = tut.client.request_for("create_application", body)
        app = tut.client.create_application(body)
        pem = private_pem(key) if key is not None else app["keys"]["private_key"]
        save_private_key(pem, keyfile, overwrite=True)
        tut.save(VONAGE_APPLICATION_ID=app["id"], VONAGE_PRIVATE_KEY_PATH=keyfile.name)
        verb = ("Created a new application; the key pair was generated here" if key is not None
                else "Created a new application; the API generated the key pair")
    hooks = app["capabilities"]["messages"]["webhooks"]
    return Panel(verb, [
        ("application id", app["id"]),
        ("name", app["name"]),
        ("inbound URL", hooks["inbound_url"]["address"]),
        ("status URL", hooks["status_url"]["address"]),
        ("private key", f"{keyfile.name} (mode {keyfile.stat().st_mode & 0o777:o}, never shown)"),
        *_where_webhooks_go(tut),
    ], code=[("the same request with curl", to_curl(request))], data={"application": app})


def ensure_application(tut: Tutorial, *, full: bool = False) -> Panel:
    """Make sure this session has a receiver and an application whose webhooks point at it.

    Steps 03 to 05 start with this: it reuses the application saved by step 02 (pointing its webhooks at
    this kernel's receiver) or, when there is none yet, creates one and says so. In the sandbox it also
    learns the Facebook ids (as step 01 does) when they are not set yet.

    Args:
        full: show the whole application panel with its curl request (public key included), as step 02 does;
            by default the application is one line, since step 02 already showed the request.

    Returns:
        The panel; ``panel["application"]`` is the application as the API returned it.
    """
    if tut.receiver is None or not tut.receiver.running:
        tut.start_receiver()
    before = tut.settings.application_id
    panel = create_or_reuse_application(tut)
    if not full:
        app = panel["application"]
        title = (f"Reusing application {app['id']} from step 02 (its webhooks now point at this receiver)"
                 if app["id"] == before else f"Created application {app['id']} (there was none from step 02 yet)")
        panel = Panel(title, ["step 02 shows the request in full"], data=panel.data)
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
