"""Applications and recipient rules: what a learner configures, read often and changed rarely (a mixin of
``State``, on its connection; reads are cached until the next change)."""

from __future__ import annotations

import json
import sqlite3

from .schema import dumps

__all__ = ["Catalog"]

_RULE_CACHE = 50_000


class Catalog:
    """Needs ``db`` and the caches ``_apps`` and ``_rules``."""

    db: sqlite3.Connection
    _apps: dict[str, dict]
    _rules: dict[tuple[int, str, str], dict | None]

    # -- applications -----------------------------------------------------------------------------
    def put_application(self, account_id: int, app_id: str, name: str, public_key: str, doc: dict) -> None:
        self.db.execute(
            "INSERT INTO applications (id, account_id, name, public_key, doc) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET name=excluded.name, public_key=excluded.public_key, "
            "doc=excluded.doc",
            (app_id, account_id, name, public_key, dumps(doc)),
        )
        self._apps.pop(app_id, None)

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

    def latest_application_with_inbound(self, account_id: int) -> dict | None:
        for row in self.db.execute(
            "SELECT id, account_id, name, public_key, doc FROM applications WHERE account_id=? ORDER BY seq DESC",
            (account_id,),
        ):
            app = _app(row)
            if app["inbound_url"]:
                return app
        return None

    def delete_application(self, app_id: str) -> None:
        self.db.execute("DELETE FROM applications WHERE id=?", (app_id,))
        self._apps.pop(app_id, None)

    # -- recipients -------------------------------------------------------------------------------
    def set_recipient(self, account_id: int, channel: str, ident: str, rule: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO recipients VALUES (?, ?, ?, ?)", (account_id, channel, ident, dumps(rule))
        )
        self._rules.clear()

    def recipient(self, account_id: int, channel: str, ident: str) -> dict | None:
        """The rule of one recipient, else the channel's ``*`` rule, else None (cached until rules change)."""
        key = (account_id, channel, ident)
        try:
            return self._rules[key]
        except KeyError:
            pass
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
            "SELECT channel, ident, rule FROM recipients WHERE account_id=? ORDER BY channel, ident",
            (account_id,),
        )
        return [{"channel": c, "id": i, **json.loads(r)} for c, i, r in rows]

    def delete_recipients(self, account_id: int, channel: str | None = None, ident: str | None = None) -> int:
        self._rules.clear()
        if channel is None:
            return self.db.execute("DELETE FROM recipients WHERE account_id=?", (account_id,)).rowcount
        return self.db.execute(
            "DELETE FROM recipients WHERE account_id=? AND channel=? AND ident=?",
            (account_id, channel, ident),
        ).rowcount


def _app(row: tuple) -> dict:
    app_id, account_id, name, public_key, doc = row
    data = json.loads(doc)
    hooks = data.get("capabilities", {}).get("messages", {}).get("webhooks", {})
    return {
        "id": app_id,
        "account_id": account_id,
        "name": name,
        "public_key": public_key,
        "doc": data,
        "inbound_url": (hooks.get("inbound_url") or {}).get("address", ""),
        "status_url": (hooks.get("status_url") or {}).get("address", ""),
    }
