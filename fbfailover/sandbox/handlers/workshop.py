"""The instructor's dashboard: ``GET /_sandbox/workshop`` (an HTML page) and ``GET /_sandbox/workshop/state``.

One row per account: the tutorial steps it reached, its last error and its last request, updated every second.
Both need the workshop token (``?token=T`` or the ``X-Workshop-Token`` header), never an attendee's
credentials; outside workshop mode they are 404. The page is self-contained (inline CSS and script, no CDN), so
it works on a room's network with no internet. It keeps the token in memory and takes it out of the address bar.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from ..activity import STEPS
from ..http import ERRORS, OLD_TOKEN_HEADER, TOKEN_HEADER, BaseHandler, Problem

__all__ = ["WorkshopPageHandler", "WorkshopStateHandler", "workshop_routes"]


class _WorkshopHandler(BaseHandler):
    def prepare(self) -> None:
        token = self.core.settings.instructor_token
        if not self.core.settings.workshop or not token:
            raise Problem(404, "Not Found", "The workshop dashboard exists in workshop mode only "
                          "(fbfailover sandbox --workshop)", type=f"{ERRORS}#not-found")
        given = (self.request.headers.get(TOKEN_HEADER) or self.request.headers.get(OLD_TOKEN_HEADER)
                 or self.get_query_argument("token", ""))
        if not hmac.compare_digest(token.encode(), given.encode("utf-8", "replace")):
            raise Problem(401, "Unauthorised", "Open the dashboard with the workshop token: "
                          f"/_sandbox/workshop?token=T or the {TOKEN_HEADER} header", type=f"{ERRORS}#unauthorized")
        # The token may be in the URL: keep it out of caches and out of the Referer of anything the page loads.
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")


class WorkshopStateHandler(_WorkshopHandler):
    """``GET /_sandbox/workshop/state``: every account's activity as JSON (the dashboard polls it)."""

    def get(self) -> None:
        primary = self.core.account.id
        rows = []
        for account in self.core.accounts.all():
            record = self.core.activity.get(account.id)
            view = record.view() if record is not None else {
                "steps": dict.fromkeys(STEPS, False), "step_times": dict.fromkeys(STEPS), "final_status": None,
                "last_request": None, "requests": 0, "last_error": None,
            }
            rows.append({"api_key": account.api_key, "instructor": account.id == primary, **view})
        body: dict[str, Any] = {"now": time.time(), "steps": list(STEPS), "accounts": rows}
        self.reply(200, body)


class WorkshopPageHandler(_WorkshopHandler):
    """``GET /_sandbox/workshop``: the dashboard page an instructor projects."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
                        "script-src 'unsafe-inline'; connect-src 'self'; img-src data:")
        self.finish(PAGE)


def workshop_routes(opts: dict) -> list[tuple]:
    return [
        (r"/_sandbox/workshop/?", WorkshopPageHandler, opts),
        (r"/_sandbox/workshop/state/?", WorkshopStateHandler, opts),
    ]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Workshop dashboard - fbfailover sandbox</title>
<style>
:root { --ok: #137333; --bad: #b3261e; --dim: #6b7280; --line: #d1d5db; --head: #f3f4f6; }
body { font: 18px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 1.5em 2em; color: #111; }
body.large { font-size: 28px; margin: 1em; }
body.large th { font-size: .6em; }
header { display: flex; align-items: baseline; gap: 1.5em; flex-wrap: wrap; }
h1 { font-size: 1.5em; margin: 0 0 .5em; }
#summary { color: var(--dim); }
#status { color: var(--dim); font-size: .85em; }
#status.down { color: var(--bad); font-weight: 600; }
button { font: inherit; font-size: .8em; padding: .2em .7em; border: 1px solid var(--line); border-radius: .3em;
  background: #fff; cursor: pointer; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { padding: .35em .6em; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { background: var(--head); font-weight: 600; font-size: .8em; }
th.step, td.step { text-align: center; width: 1%; }
td.last-request, td.key { white-space: nowrap; }
td.key { font-family: ui-monospace, Menlo, Consolas, monospace; }
tr.instructor td { background: #eef2ff; }
.tag { font-size: .7em; color: #3730a3; border: 1px solid #c7d2fe; border-radius: .3em; padding: 0 .3em;
  margin-left: .4em; font-family: system-ui, sans-serif; }
.yes { color: var(--ok); font-weight: 700; }
.no { color: #c4c8cf; }
.error { color: var(--bad); font-weight: 600; }
.none { color: var(--dim); }
#empty { color: var(--dim); margin-top: 1em; }
</style></head>
<body>
<header><h1>Workshop dashboard</h1><span id="summary"></span><span id="status">connecting...</span>
<button id="size" type="button" title="Larger text for a projector">A+</button></header>
<table><thead><tr><th>Account (api_key)</th>
<th class="step" title="POST /v2/applications answered 201">Application</th>
<th class="step" title="A request with a Bearer JWT was authenticated">JWT</th>
<th class="step" title="An inbound webhook was produced for the account">Inbound</th>
<th class="step" title="POST /v0.1/dispatch answered 202">Dispatch</th>
<th class="step" title="The dispatch's final report: completed or error">Final report</th>
<th class="step" title="POST /v1/messages with failover answered 202">v1 failover</th>
<th>Last error</th><th>Last request</th></tr></thead>
<tbody id="rows"></tbody></table>
<p id="empty" hidden>No attendee yet: they join with FBFAILOVER_SANDBOX_URL and FBFAILOVER_WORKSHOP_TOKEN.</p>
<script>
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var token = params.get("token") || "";
  if (params.has("token")) {  // keep the token in memory only: not in the address bar, history or a screenshot
    params.delete("token");
    var rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  }
  var stateUrl = location.pathname.replace(/\\/+$/, "") + "/state";
  var STEP_NAMES = ["application", "jwt", "inbound", "dispatch", "final_report", "v1_failover"];
  var body = document.body, sizeButton = document.getElementById("size");
  function setLarge(on) {
    body.classList.toggle("large", on);
    sizeButton.textContent = on ? "A-" : "A+";
    try { localStorage.setItem("fbfailover-dashboard-large", on ? "1" : ""); } catch (e) { /* private mode */ }
  }
  try { setLarge(params.get("large") === "1" || !!localStorage.getItem("fbfailover-dashboard-large")); }
  catch (e) { setLarge(false); }
  sizeButton.addEventListener("click", function () { setLarge(!body.classList.contains("large")); });

  function cell(tr, className, text, title) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    if (title) td.title = title;
    tr.appendChild(td);
    return td;
  }
  function ago(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    return Math.floor(seconds / 3600) + " h ago";
  }
  function when(unix) { return new Date(unix * 1000).toLocaleString(); }

  function render(state) {
    var rows = document.getElementById("rows");
    var fresh = document.createDocumentFragment();
    var attendees = 0, finished = 0;
    state.accounts.forEach(function (account) {
      var tr = document.createElement("tr");
      tr.dataset.apiKey = account.api_key;
      if (account.instructor) tr.className = "instructor"; else attendees += 1;
      var key = cell(tr, "key", account.api_key);
      if (account.instructor) {
        var tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "instructor";
        key.appendChild(tag);
      }
      STEP_NAMES.forEach(function (step) {
        var done = account.steps[step], at = account.step_times[step];
        var td = cell(tr, "step " + step + (done ? " yes" : " no"), done ? "\\u2714" : "\\u00b7",
                      done ? step + " at " + when(at) : step + ": not yet");
        if (step === "final_report" && account.final_status) {
          td.textContent = account.final_status === "completed" ? "\\u2714 completed" : "\\u2716 error";
          td.className = "step final_report " + (account.final_status === "completed" ? "yes" : "error");
        }
      });
      if (account.final_status && !account.instructor) finished += 1;
      var error = account.last_error;
      cell(tr, "last-error " + (error ? "error" : "none"), error ? error.status + " " + error.title : "\\u2014",
           error ? when(error.at) : "");
      cell(tr, "last-request" + (account.last_request ? "" : " none"),
           account.last_request ? ago(state.now - account.last_request) : "never",
           account.last_request ? when(account.last_request) : "");
      fresh.appendChild(tr);
    });
    rows.replaceChildren(fresh);
    document.getElementById("empty").hidden = attendees > 0;
    document.getElementById("summary").textContent =
      attendees + " attendee" + (attendees === 1 ? "" : "s") + ", " + finished + " with a final report";
  }

  var status = document.getElementById("status");
  function poll() {
    fetch(stateUrl, {headers: {"X-Workshop-Token": token}, cache: "no-store"})
      .then(function (response) {
        if (response.status === 401) throw new Error("token refused: open the URL the sandbox printed");
        if (!response.ok) throw new Error("the sandbox answered " + response.status);
        return response.json();
      })
      .then(function (state) {
        render(state);
        status.textContent = "live, updated " + new Date().toLocaleTimeString();
        status.className = "";
      })
      .catch(function (error) {
        status.textContent = "not updating: " + error.message;
        status.className = "down";
      })
      .finally(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
</script>
</body></html>
"""
