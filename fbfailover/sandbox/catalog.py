"""What learners configure: accounts, applications and recipient rules (read often, changed rarely, cached)."""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .storage import dumps

if TYPE_CHECKING:
    from .storage import Database

__all__ = ["Account", "Accounts", "Catalog"]


def _token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Account:
    """One Vonage account: credentials and the account-level webhook URLs."""

    __slots__ = ("api_key", "api_secret", "dr_url", "id", "mo_url", "signature_secret")

    def __init__(self, row: tuple):
        self.id, self.api_key, self.api_secret, self.signature_secret, self.mo_url, self.dr_url = tuple(row)[:6]


class Accounts:
    """Every account of the sandbox (the first is the primary one; workshops add one per attendee)."""

    def __init__(self, db: Database):
        self.db = db
        self._by_key: dict[str, Account] = {}
        self._by_id: dict[int, Account] = {}

    def primary(self, api_key: str | None = None, api_secret: str | None = None,
                signature_secret: str | None = None) -> Account:
        """The first account, created with fresh credentials when the database is new; given values override."""
        row = self.db.execute("SELECT id FROM accounts ORDER BY id LIMIT 1").fetchone()
        if row is None:
            self.db.execute(
                "INSERT INTO accounts (api_key, api_secret, signature_secret, created) VALUES (?, ?, ?, ?)",
                (api_key or secrets.token_hex(4), api_secret or _token(16), signature_secret or _token(48),
                 time.time()),
            )
        else:
            for column, value in (("api_key", api_key), ("api_secret", api_secret),
                                  ("signature_secret", signature_secret)):
                if value:  # a fixed column name from the tuple above
                    self.db.execute(f"UPDATE accounts SET {column}=? WHERE id=?", (value, row[0]))
        self._by_key.clear()
        self._by_id.clear()
        self.db.commit()
        return Account(self.db.execute("SELECT * FROM accounts ORDER BY id LIMIT 1").fetchone())

    def create(self) -> Account:
        """A further account with generated credentials (workshops)."""
        cur = self.db.execute(
            "INSERT INTO accounts (api_key, api_secret, signature_secret, created) VALUES (?, ?, ?, ?)",
            (secrets.token_hex(4), _token(16), _token(48), time.time()),
        )
        return self.by_id(cur.lastrowid)  # type: ignore[arg-type]

    def by_key(self, api_key: str) -> Account | None:
        account = self._by_key.get(api_key)
        if account is None:
            row = self.db.execute("SELECT * FROM accounts WHERE api_key=?", (api_key,)).fetchone()
            if row is None:
                return None
            account = self._by_key[api_key] = self._by_id[row[0]] = Account(row)
        return account

    def by_id(self, account_id: int) -> Account:
        account = self._by_id.get(account_id)
        if account is None:
            row = self.db.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
            account = self._by_id[account_id] = self._by_key[row[1]] = Account(row)
        return account

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]

    def all(self) -> list[Account]:
        return [self.by_id(i) for (i,) in self.db.execute("SELECT id FROM accounts ORDER BY id")]

    def set_urls(self, account: Account, mo_url: str | None, dr_url: str | None) -> Account:
        """Set the account-level inbound (mo) and delivery-receipt (dr) URLs; ``None`` leaves one as it is."""
        if mo_url is not None:
            self.db.execute("UPDATE accounts SET mo_url=? WHERE id=?", (mo_url, account.id))
            account.mo_url = mo_url
        if dr_url is not None:
            self.db.execute("UPDATE accounts SET dr_url=? WHERE id=?", (dr_url, account.id))
            account.dr_url = dr_url
        return account


_RULE_CACHE = 50_000


class Catalog:
    """Applications and recipient rules: configured by learners, read on every message (cached until changed)."""

    def __init__(self, db: Database):
        self.db = db
        self._apps: dict[str, dict] = {}
        #: Called with an application's id when it changes or is deleted: what caches something derived from it
        #: (the authenticator's parsed keys and verified tokens) forgets it, without a handler having to.
        self.on_application_change: list[Callable[[str], None]] = []
        self._rules: dict[tuple[int, str, str], dict | None] = {}

    # -- applications -----------------------------------------------------------------------------------
    def put_application(self, account_id: int, app_id: str, name: str, public_key: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO applications (id, account_id, name, public_key, doc) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name=excluded.name, public_key=excluded.public_key, doc=excluded.doc",
            (app_id, account_id, name, public_key, dumps(doc)),
        )
        self._changed(app_id)

    def _changed(self, app_id: str) -> None:
        self._apps.pop(app_id, None)
        for listener in self.on_application_change:
            listener(app_id)

    def application(self, app_id: str) -> dict | None:
        """The application ``app_id`` (cached: every status webhook looks up its URL); treat it as read-only."""
        app = self._apps.get(app_id)
        if app is None:
            row = self.db.execute(
                "SELECT id, account_id, name, public_key, doc FROM applications WHERE id=?", (app_id,)
            ).fetchone()
            if row is None:
                return None
            app = self._apps[app_id] = _app(row)
        return app

    def applications(self, account_id: int, offset: int, limit: int) -> tuple[int, list[dict]]:
        total = self.db.execute("SELECT COUNT(*) FROM applications WHERE account_id=?", (account_id,)).fetchone()[0]
        rows = self.db.execute(
            "SELECT id, account_id, name, public_key, doc FROM applications WHERE account_id=? "
            "ORDER BY seq LIMIT ? OFFSET ?",
            (account_id, limit, offset),
        ).fetchall()
        return total, [_app(r) for r in rows]

    def delete_application(self, app_id: str) -> None:
        self.db.execute("DELETE FROM applications WHERE id=?", (app_id,))
        self._changed(app_id)

    # -- recipients -------------------------------------------------------------------------------------
    def set_recipient(self, account_id: int, channel: str, ident: str, rule: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO recipients VALUES (?, ?, ?, ?)", (account_id, channel, ident,
                                                                                   dumps(rule)))
        self._rules.clear()

    def recipient(self, account_id: int, channel: str, ident: str) -> dict | None:
        """The rule of one recipient, else the channel's ``*`` rule, else None."""
        key = (account_id, channel, ident)
        if key in self._rules:
            return self._rules[key]
        row = self.db.execute(
            "SELECT rule FROM recipients WHERE account_id=? AND channel=? AND ident IN (?, '*') "
            "ORDER BY ident = '*' LIMIT 1",
            (account_id, channel, ident),
        ).fetchone()
        if len(self._rules) >= _RULE_CACHE:
            self._rules.clear()
        rule = self._rules[key] = json.loads(row[0]) if row else None
        return rule

    def recipients(self, account_id: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT channel, ident, rule FROM recipients WHERE account_id=? ORDER BY channel, ident", (account_id,)
        )
        return [{"channel": c, "id": i, **json.loads(r)} for c, i, r in rows]

    def delete_recipients(self, account_id: int, channel: str | None = None, ident: str | None = None) -> int:
        self._rules.clear()
        if channel is None:
            return self.db.execute("DELETE FROM recipients WHERE account_id=?", (account_id,)).rowcount
        return self.db.execute(
            "DELETE FROM recipients WHERE account_id=? AND channel=? AND ident=?", (account_id, channel, ident)
        ).rowcount


def _app(row: tuple) -> dict:
    app_id, account_id, name, public_key, doc = row
    data = json.loads(doc)
    messages = data.get("capabilities", {}).get("messages", {})
    hooks = messages.get("webhooks", {})
    return {
        "id": app_id,
        "account_id": account_id,
        "name": name,
        "public_key": public_key,
        "doc": data,
        "messages_version": messages.get("version"),
        "inbound_url": (hooks.get("inbound_url") or {}).get("address", ""),
        "status_url": (hooks.get("status_url") or {}).get("address", ""),
    }
