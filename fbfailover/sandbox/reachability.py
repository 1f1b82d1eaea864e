"""Whether a callback URL answers, as Vonage checks before it saves an account-level webhook URL.

Vonage's Account API reference (``POST /account/settings``): "the URLs you provide must be valid and active. Vonage
will check that they return a 200 OK response before the setting is saved." The sandbox does the same with one
``GET`` without a query (the request fbfailover's receiver answers 200 without recording anything), on the
server's loop and never blocking it: a short connect and response timeout, no redirects followed, the body
discarded as it arrives. The sandbox's own mailbox addresses (``mailbox.route_of``) answer for the account they
belong to without a round trip to itself; another account's mailbox does not.
"""

from __future__ import annotations

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .mailbox import route_of

__all__ = ["CONNECT_TIMEOUT", "REQUEST_TIMEOUT", "unreachable"]

CONNECT_TIMEOUT = 3.0  # real seconds, as for webhooks
REQUEST_TIMEOUT = 5.0


async def unreachable(url: str, api_key: str) -> str | None:
    """Why ``url`` cannot be saved as a callback URL of the account ``api_key``, or None when it answers 200 OK.

    Args:
        url: an http or https URL.
        api_key: the account whose setting it would become (its own mailbox addresses need no request).

    Returns:
        None, or a short reason (``"answered 404"``, ``"connection refused"``...).
    """
    mailbox = route_of(url)
    if mailbox is not None:
        return None if mailbox[0] == api_key else "it is the mailbox of another account"
    client = AsyncHTTPClient(force_instance=True)
    request = HTTPRequest(url, method="GET", follow_redirects=False, connect_timeout=CONNECT_TIMEOUT,
                          request_timeout=REQUEST_TIMEOUT, streaming_callback=lambda chunk: None,
                          headers={"User-Agent": "fbfailover-sandbox (callback URL check)"})
    try:
        response = await client.fetch(request, raise_error=False)
    except Exception as exc:  # a bad host name, a refused connection: the URL does not answer
        return _reason(exc)
    finally:
        client.close()
    if response.code == 599:
        return _reason(response.error)
    return None if response.code == 200 else f"answered {response.code} instead of 200 OK"


def _reason(error: BaseException | None) -> str:
    text = str(error or "no answer").strip()
    if isinstance(error, ConnectionRefusedError) or "refused" in text.lower():
        return "connection refused"
    if "timeout" in text.lower() or "timed out" in text.lower():
        return "no answer within the time allowed"
    return f"could not be reached ({text})"
