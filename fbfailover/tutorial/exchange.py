"""One API call shown in full: the request, the raw answer, then every webhook it caused, in order.

``Tutorial.send("POST", "/v0.1/dispatch", body)`` lands here. The body is checked with the helpers' own rules
first; a body with problems is not sent and the problems are shown instead. Otherwise the client sends it (a
fresh JWT, errors mapped as everywhere else, no retry of a POST) and the webhooks are followed until the final
report (Dispatch) or the workflow's last status (Messages API v1). The result renders as HTML for people and as
deterministic ``text/plain`` for strict nbval; its twins are the same request against Vonage as curl, as a Node
program and in Python (``twins.twins_of``), each run against a sandbox by ``make twins``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fbfailover.errors import ApiError, FbfailoverError, WaitTimeout
from fbfailover.payloads import Request, to_curl
from fbfailover.tutorial import follow
from fbfailover.tutorial.display import Shown, json_block
from fbfailover.tutorial.twins import VONAGE_API, Twins, on_vonage, twins_of
from fbfailover.validation import message_problems, message_v1_problems, workflow_problems
from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import STATUS_ORDER, parse_timestamp

if TYPE_CHECKING:
    from fbfailover.tutorial.session import Tutorial

__all__ = ["ENDPOINTS", "VONAGE_API", "Exchange", "Step", "event_time", "follow_more", "followed", "problems_of",
           "send_request", "shorten_token"]

# path -> (client operation, the helpers' check of its body)
ENDPOINTS: dict[str, tuple[str, Callable[[Any], list[dict[str, str]]]]] = {
    "/v0.1/dispatch": ("send_workflow", workflow_problems),
    "/v1/messages": ("send_message_v1", message_v1_problems),
    "/v0.1/messages": ("send_message_v01", lambda body: message_problems(body, api="v0.1")),
}
SHOWN_REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept")
SHOWN_RESPONSE_HEADERS = ("Content-Type", "Location", "X-Fbfailover-Sandbox")


_COLUMNS = ("time", "direction", "step", "status", "key fields")


@dataclass(frozen=True)
class Step:
    """One row of an exchange's table, and its full text behind a disclosure.

    Attributes:
        at: seconds after the request, as the webhooks' own timestamps say (simulated in the sandbox).
        direction: who talks to whom (``you → sandbox``, ``sandbox → /webhooks/status``...).
        what, status, fields: the step, its status, its key fields in one line.
        caption, text: the disclosure's summary and the full text (headers, JSON).
    """

    at: str
    direction: str
    what: str
    status: str
    fields: str
    caption: str
    text: str
    webhook: bool = False


def _request_fields(path: str, body: Any) -> str:
    channels = _channels(path, body)
    if path == "/v0.1/dispatch" and isinstance(body, Mapping):
        conditions = [item.get("failover") for item in body.get("workflow") or [] if isinstance(item, Mapping)]
        first = next((c for c in conditions if isinstance(c, Mapping)), None)
        if first is not None:
            return (f"{' → '.join(channels)}; next after {first.get('expiry_time')} s unless "
                    f"{first.get('condition_status')}")
    return " → ".join(channels) if len(channels) > 1 else (channels[0] if channels else "")


def _answer_fields(answer: Any) -> str:
    if not isinstance(answer, Mapping):
        return ""
    found = [f"{key}: {answer[key]}" for key in ("dispatch_uuid", "workflow_uuid", "message_uuid", "workflow_id")
             if answer.get(key)]
    if found:
        return ", ".join(found)
    return str(answer.get("title") or answer.get("detail") or "")


def _event_fields(event: Any, numbers: dict[str, int]) -> str:
    body = event.body if isinstance(event.body, Mapping) else {}
    if event.kind == "final_report":
        messages = [f"{m.get('channel')} {m.get('status')}" for m in shapes.report_messages(body)]
        usage = body.get("usage") or {}
        price = f"; {usage.get('price')} {usage.get('currency')}" if usage.get("price") else ""
        return ", ".join(messages) + price
    parts = []
    if event.message_uuid in numbers:
        parts.append(f"message {numbers[event.message_uuid]}")
    if event.channel:
        parts.append(str(event.channel))
    usage = body.get("usage") or {}
    if usage.get("price"):
        parts.append(f"{usage['price']} {usage.get('currency', '')}".rstrip())
    if event.error:
        code = event.error.get("code") or event.error.get("title")
        reason = event.error.get("reason") or event.error.get("detail")
        parts.append(f"error {code} {reason or ''}".rstrip())
    return ", ".join(parts)


def shorten_token(value: str, keep: int = 12) -> str:
    """``Bearer eyJhbGciOiJS…`` — enough to recognise a credential, never enough to use it."""
    scheme, _, token = value.partition(" ")
    if not token:
        return value[:keep] + "…"
    return f"{scheme} {token[:keep]}… (shortened; {scheme.lower()} credentials are never shown in full)"


@dataclass(repr=False)
class Exchange(Shown):
    """What one ``send`` did: the request, the answer, the webhooks; renders the same way every run.

    Attributes:
        method, path, url: what was (or would have been) called; ``url`` is the sandbox's or Vonage's.
        body: the body as given. problems: the helpers' findings (then nothing was sent).
        status, response_headers, answer: the raw answer (``answer`` is its JSON).
        error: one line when the API refused the request or could not be reached.
        events: the webhooks that belong to this request, ordered by their own timestamps.
    """

    method: str
    path: str
    url: str
    body: Any
    problems: list[dict[str, str]] = field(default_factory=list)
    request_headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    reason: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    answer: Any = None
    error: str | None = None
    events: list[Any] = field(default_factory=list)
    sandbox: bool = True
    request: Request | None = field(default=None, repr=False)

    # --- what the run produced, for the next cells ----------------------------------------------------
    @property
    def sent(self) -> bool:
        """True when the request reached the API (whatever it answered)."""
        return self.status is not None

    @property
    def accepted(self) -> bool:
        """True when the API accepted the request (2xx)."""
        return self.status is not None and 200 <= self.status < 300

    def __getitem__(self, key: str) -> Any:
        return (self.answer or {})[key]

    @property
    def dispatch_uuid(self) -> str | None:
        """The Dispatch API's id of this workflow, if it answered with one."""
        return (self.answer or {}).get("dispatch_uuid")

    @property
    def workflow_id(self) -> str | None:
        """The Messages API v1 failover workflow's id, if it answered with one."""
        return (self.answer or {}).get("workflow_id")

    @property
    def final_report(self) -> dict[str, Any] | None:
        """The Dispatch final report's body, once it arrived; ``{"status": "not sent", "why": ...}`` when nothing
        was sent (a body with problems, a live send that waits for ``confirm=True``), ``"refused"`` when the API
        refused it."""
        if self.status is not None and not self.accepted:
            return {"status": "refused", "why": f"the API answered {self.status}"}
        if not self.accepted:
            reasons = "; ".join(f"{p['name']}: {p['reason']}" for p in self.problems) or "nothing was sent"
            return {"status": "not sent", "why": reasons}
        found = [e.body for e in self.events if e.kind == "final_report"]
        return found[-1] if found else None

    def offset(self, event: Any) -> int:
        """Whole simulated seconds from the first webhook to ``event`` (the webhooks' own timestamps)."""
        first = min(event_time(e) for e in self.events)
        return round(event_time(event) - first)

    def submissions(self) -> list[tuple[str, int]]:
        """``(channel, seconds after the first)`` for every message that went out, in order."""
        return [(e.channel, self.offset(e)) for e in self.events if e.kind == "status" and e.status == "submitted"]

    # --- rendering --------------------------------------------------------------------------------------
    def _title(self) -> str:
        if self.problems:
            return "Nothing was sent: the body has problems (fix them and run the cell again)"
        if self.error and not self.sent:
            return f"Nothing arrived: {self.error}"
        return f"{self.method} {self.path} → {self.status} {self.reason}".rstrip()

    def steps(self) -> list[Step]:
        """One step per row of the table, in the order they happened: the request, the answer, each webhook."""
        if self.problems:
            return []
        where = "the sandbox" if self.sandbox else "Vonage"
        api = "sandbox" if self.sandbox else "Vonage"
        headers = "\n".join(f"{k}: {v}" for k, v in self.request_headers.items())
        steps = [Step("+0 s", f"you → {api}", f"{self.method} {self.path}", "", _request_fields(self.path, self.body),
                      f"request (to {where})", f"{self.method} {self.url}\n{headers}\n\n(body: the dict you built)")]
        if self.sent:
            answer = "\n".join(f"{k}: {v}" for k, v in self.response_headers.items())
            text = json_block(self.answer) if self.answer is not None else "(no body)"
            steps.append(Step("+0 s", f"{api} → you", "response", f"{self.status} {self.reason}".rstrip(),
                              _answer_fields(self.answer), "response",
                              f"{self.status} {self.reason}\n{answer}\n\n{text}".rstrip()))
        if self.error:
            steps.append(Step("", "", "error", "", self.error, "error", self.error))
        numbers: dict[str, int] = {}
        for event in self.events:
            if event.message_uuid and event.kind == "status":
                numbers.setdefault(event.message_uuid, len(numbers) + 1)
        for event in self.events:
            steps.append(Step(f"+{self.offset(event)} s", f"{api} → {event.route}",
                              "final report" if event.kind == "final_report" else event.kind, event.status or "",
                              _event_fields(event, numbers), f"webhook at +{self.offset(event)} s: {_label(event)}",
                              json_block(event.body), webhook=True))
        return steps

    def text(self) -> str:
        """The exchange as plain lines (its ``text/plain``): the table, then the first webhook in full."""
        out = [self._title()]
        if self.problems:
            out.append("  problems found by the helpers' validation:")
            out.extend(f"    {p['name']}: {p['reason']}" for p in self.problems)
            return "\n".join(out)
        steps = self.steps()
        rows = [_COLUMNS, *((s.at, s.direction, s.what, s.status, s.fields) for s in steps)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
        out.extend("  " + "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
                   .rstrip() for row in rows)
        if self.sent and not self.events and self.accepted:
            out.append("  (no webhook has arrived yet)")
        example = next((s for s in steps if s.webhook), None)
        if example is not None:
            out.append(f"  {example.caption} (in full; every step's JSON is in the HTML view, or run.events[i].body):")
            out.extend(f"    {row}" for row in example.text.splitlines())
        return "\n".join(out)

    def html(self) -> str:
        """The exchange as HTML: a title, the table, then each step's full text behind a disclosure (the first
        webhook open, as the example)."""
        title = f"<b>{html.escape(self._title())}</b>"
        if self.problems:
            rows = "".join(f"<li><code>{html.escape(p['name'])}</code>: {html.escape(p['reason'])}</li>"
                           for p in self.problems)
            return (f"<div class='fbfailover-panel fbfailover-exchange'>{title}"
                    f"<div><i>problems found by the helpers' validation</i><ul>{rows}</ul></div></div>")
        steps = self.steps()
        head = "".join(f"<th style='text-align:left;padding-right:1em'>{c}</th>" for c in _COLUMNS)
        body = "".join("<tr>" + "".join(f"<td style='text-align:left;padding-right:1em'>{html.escape(c)}</td>"
                                         for c in (s.at, s.direction, s.what, s.status, s.fields)) + "</tr>"
                       for s in steps)
        opened = next((i for i, s in enumerate(steps) if s.webhook), None)
        # quotes stay as they are (quote=False) so that nbval's sanitizing patterns match the HTML as the text
        details = "".join(
            f"<details{' open' if i == opened else ''}><summary>{html.escape(s.caption)}</summary>"
            f"<pre class='fbfailover-code'>{html.escape(s.text, quote=False)}</pre></details>"
            for i, s in enumerate(steps))
        waiting = ("<div><i>(no webhook has arrived yet)</i></div>"
                   if self.sent and not self.events and self.accepted else "")
        return (f"<div class='fbfailover-panel fbfailover-exchange'>{title}"
                f"<table class='fbfailover-steps'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"{waiting}{details}</div>")

    # --- the twins --------------------------------------------------------------------------------------
    def curl(self) -> str:
        """The same request as curl against Vonage (``$JWT`` stands for the token)."""
        request = self.request or Request(self.method, self.url, {"Accept": "application/json",
                                                                  "Content-Type": "application/json"},
                                          json=self.body, auth="jwt")
        return to_curl(on_vonage(request))

    def twins(self) -> Twins:
        """The request against Vonage as curl, as a Node program and in Python, built from the body sent."""
        note = (f"this notebook sent it to {self.url} (the sandbox) instead of {VONAGE_API}{self.path}"
                if self.sandbox else f"sent to {self.url}")
        return Twins(note, twins_of(self.path, self.body))


def event_time(event: Any) -> float:
    """A webhook's own timestamp (simulated time in the sandbox) in epoch seconds; its arrival time without one."""
    stamp = parse_timestamp(event.timestamp)
    return stamp.timestamp() if stamp is not None else float(event.received_at or 0)


def _label(event: Any) -> str:
    if event.kind == "final_report":
        return f"final report: {event.status}"
    return f"status {event.status} ({event.channel})"


def _channels(path: str, body: Any) -> list[str]:
    """The channels of the request's messages, in workflow order."""
    if not isinstance(body, Mapping):
        return []
    if path == "/v0.1/dispatch":
        return [str((item.get("to") or {}).get("type")) for item in body.get("workflow") or []
                if isinstance(item, Mapping)]
    return [str(body.get("channel"))] + [str(m.get("channel")) for m in body.get("failover") or []
                                         if isinstance(m, Mapping)]


def _order(events: list[Any], channels: list[str]) -> list[Any]:
    """Sort by simulated time, then workflow position, then a message's life; the final report last."""
    def key(event: Any) -> tuple:
        position = (event.item_number - 1) if event.item_number else (
            channels.index(event.channel) if event.channel in channels else 99)
        final = event.kind == "final_report"
        return round(event_time(event), 3), final, position, STATUS_ORDER.get(event.status, 9)

    return sorted(events, key=key)


def _expiry_total(body: Any) -> float:
    items = body.get("workflow") if isinstance(body, Mapping) else None
    return float(sum((item.get("failover") or {}).get("expiry_time", 0) for item in items or []
                     if isinstance(item, Mapping)))


def _follow(tut: Tutorial, run: Exchange, timeout: float | None) -> list[Any]:
    """Wait for the webhooks that end this request (``follow``), then return all of its webhooks."""
    source = tut.receiver
    if source is None:
        return []
    if run.dispatch_uuid:
        return follow.dispatch_events(source, run.dispatch_uuid,
                                      timeout=timeout or follow.dispatch_timeout(tut, _expiry_total(run.body)))
    if run.workflow_id:
        return follow.workflow_events(source, run.workflow_id, timeout=timeout or 20.0)
    uuid = run.answer.get("message_uuid") if isinstance(run.answer, Mapping) else None
    if not uuid:
        return []
    try:  # one message: until its first result, or what came until then
        return follow.message_events(source, uuid, timeout=timeout or 10.0)
    except WaitTimeout:
        return follow.sent_events(source, run.answer)


def send_request(tut: Tutorial, method: str, path: str, body: Any, *, follow: bool = True,
                 timeout: float | None = None, confirm: bool = False) -> Exchange:
    """Check ``body``, send it with the session's client, and follow the webhooks it causes.

    Args:
        tut: the session (its client signs the request; its receiver gets the webhooks).
        method: ``"POST"`` (the only method these endpoints take).
        path: ``/v0.1/dispatch``, ``/v1/messages`` or ``/v0.1/messages``.
        body: the JSON body as a dict.
        follow: wait for the final report (Dispatch) or the workflow's last status (v1); False returns at once.
        timeout: real seconds to wait for the webhooks (default: long enough at the sandbox's speed).
        confirm: live mode sends one workflow per session without asking (each is a real, paid message); a
            further one is sent only with ``confirm=True``, otherwise nothing is sent and the answer says so.

    Returns:
        The exchange; with problems in the body, one that says so and sent nothing.

    Raises:
        ValueError: for another method or path.
        WaitTimeout: when following and the end of the workflow did not arrive in time.
    """
    if method.upper() != "POST" or path not in ENDPOINTS:
        raise ValueError(f"send() knows POST to {', '.join(ENDPOINTS)}; got {method} {path}")
    operation, check = ENDPOINTS[path]
    request = tut.client.request_for(operation, body if isinstance(body, Mapping) else {})
    run = Exchange("POST", path, request.url, body, sandbox=tut.offline, request=request)
    run.problems = list(check(body))
    if not run.problems and not tut.offline and tut.live_sends and not confirm:
        run.problems = [{"name": "confirm", "reason": "live mode sends one workflow per notebook without asking, "
                         "and this would be another real, paid message: tut.send(..., confirm=True) sends it"}]
    if run.problems:
        return run
    if not tut.offline:
        tut.live_sends += 1

    def record(response: Any) -> None:
        sent = response.request.headers
        run.request_headers = {k: shorten_token(sent[k]) if k == "Authorization" else sent[k]
                               for k in SHOWN_REQUEST_HEADERS if k in sent}
        run.status, run.reason = response.status_code, response.reason or ""
        run.response_headers = {k: response.headers[k] for k in SHOWN_RESPONSE_HEADERS if k in response.headers}

    try:
        run.answer = tut.client.send(request, on_response=record)
    except ApiError as exc:
        run.answer = exc.body if isinstance(exc.body, Mapping) else None
        run.error = str(exc)
        return run
    except FbfailoverError as exc:  # not reached, or no answer: say so in the panel, as a form would
        run.error = str(exc)
        return run
    if follow:
        run.events = _order(_follow(tut, run, timeout), _channels(path, body))
    return run


def _collect(tut: Tutorial, run: Exchange) -> list[Any]:
    """The webhooks of ``run`` that have arrived so far, in order."""
    found = follow.sent_events(tut.receiver, run.answer if isinstance(run.answer, Mapping) else None) \
        if tut.receiver is not None and (run.dispatch_uuid or run.workflow_id) else []
    return _order(found, _channels(run.path, run.body))


def follow_more(tut: Tutorial, run: Exchange) -> Exchange:
    """``run`` with the webhooks that have arrived since (for a run sent with ``follow=False``)."""
    run.events = _collect(tut, run)
    return run


def followed(tut: Tutorial, path: str, body: Any, answer: Mapping[str, Any], events: list[Any]) -> Exchange:
    """The exchange of a send made and followed elsewhere (a form's): the request as the client builds it, its
    202 answer and the webhooks ``follow`` returned, shown like ``send``'s.

    Raises:
        ValueError: for a path ``send`` does not know.
    """
    if path not in ENDPOINTS:
        raise ValueError(f"unknown path {path}; one of: {', '.join(ENDPOINTS)}")
    request = tut.client.request_for(ENDPOINTS[path][0], body)
    run = Exchange("POST", path, request.url, body, sandbox=tut.offline, request=request, status=202,
                   reason="Accepted", answer=dict(answer))
    run.request_headers = {"Authorization": "Bearer (a fresh application JWT, never shown)",
                           **{k: v for k, v in request.headers.items() if k in SHOWN_REQUEST_HEADERS}}
    run.events = _order(list(events), _channels(path, body))
    return run


def problems_of(path: str, body: Any) -> list[dict[str, str]]:
    """The helpers' problems with ``body`` for ``path`` (empty when it may be sent).

    Raises:
        ValueError: for a path ``send`` does not know.
    """
    if path not in ENDPOINTS:
        raise ValueError(f"unknown path {path}; one of: {', '.join(ENDPOINTS)}")
    return list(ENDPOINTS[path][1](body))
