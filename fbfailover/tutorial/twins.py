"""The curl twin of a request: the same call against Vonage's own host, so that it transfers outside the notebook.

In the sandbox a request goes to ``http://127.0.0.1:PORT``; its twin names ``https://api.nexmo.com`` (or
``https://rest.nexmo.com`` for the account settings) and says where this notebook really sent it. In live mode
the twin is the request as sent.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from fbfailover.payloads import Request, to_curl
from fbfailover.tutorial.session import Tutorial

__all__ = ["VONAGE_API", "VONAGE_REST", "curl_twin", "on_vonage"]

VONAGE_API = "https://api.nexmo.com"
VONAGE_REST = "https://rest.nexmo.com"


def on_vonage(request: Request) -> Request:
    """The same request addressed to Vonage's host for its API (``rest.nexmo.com`` for the account settings)."""
    parts = urlsplit(request.url)
    host = VONAGE_REST if parts.path.startswith("/account") else VONAGE_API
    return dataclasses.replace(request, url=host + parts.path + (f"?{parts.query}" if parts.query else ""))


def curl_twin(tut: Tutorial, request: Request) -> tuple[str, str]:
    """``(label, command)``: the request as curl against Vonage, the label saying where it was really sent.

    Args:
        tut: the session (in live mode the request already goes to Vonage, or to the URL you chose).
        request: the request as the client built it.
    """
    if not tut.offline:
        return "the same request with curl", to_curl(request)
    parts = urlsplit(request.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return (f"the same request with curl, against Vonage (this notebook sent it to the sandbox at {origin})",
            to_curl(on_vonage(request)))
