"""Changes to account-wide settings: shown old → new, applied only once confirmed, the originals kept.

Step 01 replaces the account's ``moCallBackUrl``/``drCallBackUrl`` and later steps may re-point an application:
on a real account either can break someone's production traffic. So in live mode a step first reads what is
set, shows the change and changes nothing until ``confirm=True`` (the ``ConfirmChange`` widget's button).
In the offline sandbox (nobody's production account) the change is applied at once, still shown old → new.

The account's original webhook URLs are kept in ``<data folder>/account-webhooks.json`` (mode 0600) the first
time they are changed, and never overwritten by a later change, so ``restore_account_webhooks`` (or
``fbfailover account restore-webhooks``) puts back what was there before the tutorial, not its own last URLs.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fbfailover.config import data_dir
from fbfailover.errors import ConfigError

__all__ = ["ACCOUNT_FIELDS", "CONFIRM_HINT", "Change", "forget_originals", "load_originals", "needs_confirmation",
           "originals_file", "save_originals"]

#: Account settings answer key -> what the dashboard calls it.
ACCOUNT_FIELDS = {"mo-callback-url": "Webhook URL for Inbound Message",
                  "dr-callback-url": "Webhook URL for Delivery Receipt"}
CONFIRM_HINT = "Nothing was changed yet: check the change above, then confirm (the Confirm button, or confirm=True)."
_FILE = "account-webhooks.json"


class Change:
    """One setting's change, ``old → new``, as a panel line."""

    def __init__(self, label: str, old: Any, new: Any):
        self.label, self.old, self.new = label, old, new

    @property
    def changed(self) -> bool:
        """True when the new value differs from the old one."""
        return (self.old or None) != (self.new or None)

    def line(self) -> tuple[str, str]:
        """``(label, "old → new")``, or ``(label, "value (unchanged)")``."""
        if not self.changed:
            return self.label, f"{self.old or '(not set)'} (unchanged)"
        return self.label, f"{self.old or '(not set)'} → {self.new or '(not set)'}"


def needs_confirmation(offline: bool, confirm: bool | None) -> bool:
    """True when a change must wait: live mode (a real account) and no confirmation yet."""
    return not offline and not confirm


def originals_file(environ: Mapping[str, str] | None = None) -> Path:
    """Where the account's original webhook URLs are kept (``<data folder>/account-webhooks.json``)."""
    return data_dir(environ) / _FILE


def _account(api_key: str | None, rest_url: str) -> str:
    return f"{api_key}@{rest_url.rstrip('/')}"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON ({exc}); it holds your account's original webhook URLs: "
                          f"fix or move it") from exc
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".account.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def load_originals(api_key: str | None, rest_url: str, environ: Mapping[str, str] | None = None) -> dict | None:
    """The original webhook URLs kept for this account and API, or None when none were kept.

    Raises:
        ConfigError: when the file exists but is not JSON.
    """
    return _read(originals_file(environ)).get(_account(api_key, rest_url))


def save_originals(api_key: str | None, rest_url: str, current: Mapping[str, Any],
                   environ: Mapping[str, str] | None = None) -> bool:
    """Keep ``current`` as this account's originals, unless originals are already kept (they win).

    Returns:
        True when they were written now, False when earlier originals were kept instead.
    """
    path = originals_file(environ)
    data = _read(path)
    key = _account(api_key, rest_url)
    if key in data:
        return False
    data[key] = {**{k: current.get(k) or "" for k in ACCOUNT_FIELDS}, "saved_at": time.time()}
    _write(path, data)
    return True


def forget_originals(api_key: str | None, rest_url: str, environ: Mapping[str, str] | None = None) -> None:
    """Drop the kept originals of this account (after they were restored)."""
    path = originals_file(environ)
    data = _read(path)
    if data.pop(_account(api_key, rest_url), None) is not None:
        _write(path, data)
