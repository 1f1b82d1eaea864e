"""The sandbox as a tornado application: the routes of api.nexmo.com and rest.nexmo.com on one server, plus the
sandbox's own endpoints under ``/_sandbox/``. Each request runs route -> authenticate -> validate -> act -> answer.
"""

from __future__ import annotations

from pathlib import Path

import tornado.web

from .core import Core, SandboxSettings
from .handlers.account import AccountSettingsHandler
from .handlers.applications import ApplicationHandler, ApplicationsHandler
from .handlers.control import control_routes
from .handlers.dispatch import DispatchHandler
from .handlers.inspection import inspection_routes
from .handlers.mailbox import events_routes
from .handlers.messages import MessagesV01Handler, MessagesV1Handler
from .handlers.openapi import OpenApiHandler
from .handlers.workshop import workshop_routes
from .http import ERRORS, BaseHandler, Problem
from .storage import check_database

__all__ = ["assemble", "make_app"]


class PingHandler(BaseHandler):
    def get(self) -> None:
        self.reply(200, {"status": "ok"})


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        raise Problem(404, "Not Found", f"No resource at {self.request.path}; see fbfailover/sandbox/README.md",
                      type=f"{ERRORS}#not-found")


def make_app(core: Core) -> tornado.web.Application:
    """The sandbox over ``core``; ``app.settings["core"]`` holds it.

    Call ``await core.start()`` on the serving loop before the first request and ``await core.stop()`` at the end.
    """
    opts = {"core": core}
    routes: list[tuple] = [
        (r"/(?:v0\.1/dispatch|v0\.1/messages|v1/messages|v2/applications)/ping/?", PingHandler, opts),
        (r"/v2/applications/?", ApplicationsHandler, opts),
        (r"/v2/applications/([^/]+)/?", ApplicationHandler, opts),
        (r"/account/settings/?", AccountSettingsHandler, opts),
        (r"/v0\.1/dispatch/?", DispatchHandler, {**opts, "kind": "dispatch"}),
        (r"/beta/workflows/?", DispatchHandler, {**opts, "kind": "workflow"}),
        (r"/v0\.1/messages/?", MessagesV01Handler, opts),
        (r"/v1/messages/?", MessagesV1Handler, opts),
        (r"/_sandbox/openapi\.json", OpenApiHandler, opts),
        *control_routes(opts),
        *inspection_routes(opts),
        *events_routes(opts),
        *workshop_routes(opts),
        (r".*", NotFoundHandler, opts),
    ]
    return tornado.web.Application(routes, log_function=lambda handler: None, core=core)


def assemble(db: str | Path, settings: SandboxSettings) -> tuple[Core, tornado.web.Application]:
    """Put a sandbox together: its state over the database at ``db``, and the app that serves it.

    The one way a sandbox is assembled, embedded (``embedded.start``) or as a process (``fbfailover sandbox``);
    the caller serves the app (with ``http.SERVER_LIMITS``) and runs ``core.start()`` / ``core.stop()`` on the
    serving loop.

    Raises:
        StorageError: the database cannot be used (read-only, full disk, locked, not SQLite).
    """
    check_database(db)
    core = Core.open(db, settings)
    return core, make_app(core)
