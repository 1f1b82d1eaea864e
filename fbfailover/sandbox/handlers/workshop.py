"""The instructor's dashboard: ``GET /_sandbox/workshop`` (an HTML page) and ``GET /_sandbox/workshop/state``.

One row per account: the attendee's display name, the tutorial steps it reached, whether it looks stuck (stuck
attendees are sorted to the top), its last error and its last request, updated every second, with a summary of
the room (how many reached each step) and a CSV export (``GET /_sandbox/workshop/state.csv``). Errors the tutorial
causes on purpose (exercises, the failure gallery) are shown apart and are never trouble (see ``activity.py``).
All need the dashboard token (``?token=T`` or the ``X-Dashboard-Token`` header), the instructor's alone: it is
not the join token attendees have (the dashboard lists every api_key), and never an attendee's credentials.
Outside workshop mode they are 404. The page is self-contained (inline CSS and script, no CDN), so
it works on a room's network with no internet. It keeps the token in memory and takes it out of the address bar.
"""

from __future__ import annotations

import csv
import hmac
import io
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..activity import STEPS, Record

if TYPE_CHECKING:
    from ..core import Core
from ..http import DASHBOARD_HEADER, ERRORS, BaseHandler, Problem

__all__ = ["WorkshopCsvHandler", "WorkshopPageHandler", "WorkshopStateHandler", "room_csv", "room_state",
           "workshop_routes"]


class _WorkshopHandler(BaseHandler):
    def prepare(self) -> None:
        super().prepare()
        token = self.core.settings.dashboard_token
        if not self.core.settings.workshop or not token:
            raise Problem(404, "Not Found", "The workshop dashboard exists in workshop mode only "
                          "(fbfailover sandbox --workshop)", type=f"{ERRORS}#not-found")
        given = self.request.headers.get(DASHBOARD_HEADER) or self.get_query_argument("token", "")
        if not hmac.compare_digest(token.encode(), given.encode("utf-8", "replace")):
            raise Problem(401, "Unauthorised", "Open the dashboard with the dashboard token the sandbox printed: "
                          f"/_sandbox/workshop?token=T or the {DASHBOARD_HEADER} header", type=f"{ERRORS}#unauthorized")
        # The token may be in the URL: keep it out of caches and out of the Referer of anything the page loads.
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")


def room_state(core: Core, now: float) -> dict[str, Any]:
    """Every account's activity, stuck attendees first (longest stuck first), and a summary of the room.

    Returns:
        ``now``, ``steps``, ``accounts`` (one row each: ``api_key``, ``instructor`` and the record's view) and
        ``summary``: attendees, how many reached each step, how many are stuck and how many did every step.
    """
    primary = core.account.id
    rows = []
    for account in core.accounts.all():
        record = core.activity.get(account.id) or Record()
        view = record.view(now)
        if account.id == primary:
            view["stuck"] = None  # the instructor's own account is not an attendee
        rows.append({"api_key": account.api_key, "instructor": account.id == primary, **view})
    # Stuck attendees first, then everyone else in the order they joined; the instructor's row last.
    rows.sort(key=lambda row: (row["instructor"], row["stuck"] is None))
    attendees = [row for row in rows if not row["instructor"]]
    summary = {
        "attendees": len(attendees),
        "reached": {step: sum(1 for row in attendees if row["steps"][step]) for step in STEPS},
        "stuck": sum(1 for row in attendees if row["stuck"]),
        "done": sum(1 for row in attendees if row["done"]),
    }
    return {"now": now, "steps": list(STEPS), "accounts": rows, "summary": summary}


def room_csv(state: dict[str, Any]) -> str:
    """``room_state`` as CSV, one line per attendee; cells a spreadsheet would run as a formula are quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["name", "api_key", "instructor", "stuck", *STEPS, "final_status", "last_error",
                     "last_error_at", "last_request", "requests"])

    def iso(unix: float | None) -> str:
        return "" if unix is None else datetime.fromtimestamp(unix, timezone.utc).isoformat(timespec="seconds")

    for row in state["accounts"]:
        error = row["last_error"] or {}
        writer.writerow([_cell(row["name"] or ""), row["api_key"], "yes" if row["instructor"] else "",
                         _cell(row["stuck"] or ""), *(iso(row["step_times"][step]) for step in STEPS),
                         row["final_status"] or "", _cell(f"{error['status']} {error['title']}" if error else ""),
                         iso(error.get("at")), iso(row["last_request"]), row["requests"]])
    return out.getvalue()


def _cell(text: str) -> str:
    # A display name is anyone's text: one starting with = + - @ (or a tab/CR) would be a formula in a spreadsheet.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class WorkshopStateHandler(_WorkshopHandler):
    """``GET /_sandbox/workshop/state``: every account's activity as JSON (the dashboard polls it)."""

    def get(self) -> None:
        self.reply(200, room_state(self.core, self.core.activity.now()))


class WorkshopCsvHandler(_WorkshopHandler):
    """``GET /_sandbox/workshop/state.csv``: the same rows as CSV, to keep after the workshop."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="workshop.csv"')
        self.finish(room_csv(room_state(self.core, self.core.activity.now())))


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
        (r"/_sandbox/workshop/state\.csv", WorkshopCsvHandler, opts),
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
td.last-request { white-space: nowrap; }
.key { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .75em; color: var(--dim); }
td.who .name { font-weight: 600; margin-right: .4em; }
tr.instructor td { background: #eef2ff; }
tr.stuck td { background: #fef2f2; }
td.state.stuck { color: var(--bad); font-weight: 600; }
td.state.done { color: var(--ok); }
#reached th { background: #fff; font-weight: 400; color: var(--dim); text-align: center; white-space: nowrap; }
#reached th:first-child { text-align: left; }
.on-purpose { color: var(--dim); font-size: .85em; display: block; }
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
<button id="size" type="button" title="Larger text for a projector">A+</button>
<button id="csv" type="button" title="Download every row as CSV">CSV</button></header>
<table><thead><tr><th>Attendee</th>
<th class="step" title="POST /v2/applications answered 201">Application</th>
<th class="step" title="A request with a Bearer JWT was authenticated">JWT</th>
<th class="step" title="An inbound webhook was produced for the account">Inbound</th>
<th class="step" title="POST /v0.1/dispatch answered 202">Dispatch</th>
<th class="step" title="The dispatch's final report: completed or error">Final report</th>
<th class="step" title="POST /v1/messages with failover answered 202">v1 failover</th>
<th title="Stuck: an error with no success for 3 minutes, or no progress for 10 minutes">State</th>
<th title="Errors the exercises and the failure gallery cause on purpose are shown apart, in grey">Last error</th>
<th>Last request</th></tr>
<tr id="reached"><th>Reached</th><th class="step" data-step="application"></th><th class="step" data-step="jwt"></th>
<th class="step" data-step="inbound"></th><th class="step" data-step="dispatch"></th>
<th class="step" data-step="final_report"></th><th class="step" data-step="v1_failover"></th>
<th></th><th></th><th></th></tr></thead>
<tbody id="rows"></tbody></table>
<p id="empty" hidden>No attendee yet: they join with FBFAILOVER_SANDBOX_URL and FBFAILOVER_WORKSHOP_TOKEN
(and FBFAILOVER_ATTENDEE_NAME for the name shown here).</p>
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
    state.accounts.forEach(function (account) {
      var tr = document.createElement("tr");
      tr.dataset.apiKey = account.api_key;
      tr.className = account.instructor ? "instructor" : (account.stuck ? "stuck" : "");
      var who = cell(tr, "who", "");
      if (account.name) {  // textContent only: a name is anyone's text
        var name = document.createElement("span");
        name.className = "name";
        name.textContent = account.name;
        who.appendChild(name);
      }
      var key = document.createElement("span");
      key.className = "key";
      key.textContent = account.api_key;
      who.appendChild(key);
      if (account.instructor) {
        var tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = "instructor";
        who.appendChild(tag);
      }
      STEP_NAMES.forEach(function (step) {
        var done = account.steps[step], at = account.step_times[step];
        var td = cell(tr, "step " + step + (done ? " yes" : " no"), done ? "\\u2714" : "\\u00b7",
                      done ? step + " at " + when(at) : step + ": not yet");
        if (step === "final_report" && account.final_status) {  // an error report is what two exercises ask for
          td.textContent = "\\u2714 " + account.final_status;
          td.title = "the last dispatch's final report: " + account.final_status;
        }
      });
      var stateText = account.instructor ? "" : (account.stuck ? "stuck: " + account.stuck
                                                 : (account.done ? "every step done" : "working"));
      cell(tr, "state" + (account.stuck ? " stuck" : "") + (account.done ? " done" : ""), stateText);
      var error = account.last_error, purpose = account.last_on_purpose;
      var errorCell = cell(tr, "last-error " + (error ? "error" : "none"),
                           error ? error.status + " " + error.title : "\\u2014", error ? when(error.at) : "");
      if (purpose) {
        var note = document.createElement("span");
        note.className = "on-purpose";
        note.textContent = "on purpose (" + purpose.why + "): " + purpose.status + " " + purpose.title;
        note.title = when(purpose.at);
        errorCell.appendChild(note);
      }
      cell(tr, "last-request" + (account.last_request ? "" : " none"),
           account.last_request ? ago(state.now - account.last_request) : "never",
           account.last_request ? when(account.last_request) : "");
      fresh.appendChild(tr);
    });
    rows.replaceChildren(fresh);
    var summary = state.summary, attendees = summary.attendees;
    document.getElementById("empty").hidden = attendees > 0;
    document.getElementById("summary").textContent =
      attendees + " attendee" + (attendees === 1 ? "" : "s") + ", " + summary.stuck + " stuck, " +
      summary.done + " with every step done";
    document.querySelectorAll("#reached th[data-step]").forEach(function (th) {
      th.textContent = summary.reached[th.dataset.step] + " / " + attendees;
      th.title = summary.reached[th.dataset.step] + " of " + attendees + " attendees reached this step";
    });
  }

  document.getElementById("csv").addEventListener("click", function () {
    fetch(stateUrl + ".csv", {headers: {"X-Dashboard-Token": token}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) throw new Error("the sandbox answered " + response.status);
        return response.blob();
      })
      .then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = "workshop.csv";
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
      })
      .catch(function (error) { status.textContent = "CSV not downloaded: " + error.message; });
  });

  var status = document.getElementById("status");
  function poll() {
    fetch(stateUrl, {headers: {"X-Dashboard-Token": token}, cache: "no-store"})
      .then(function (response) {
        if (response.status === 401) throw new Error("token refused: open the dashboard URL the sandbox printed");
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
