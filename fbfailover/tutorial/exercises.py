"""Checked exercises for steps 04 and 05 (``checks.Exercise``), each with a check that reads the sandbox's records.

A check never looks at the learner's variables: it takes the workflows this kernel sent since the exercise was
shown (their ids, as the API answered them; another open notebook's sends are not this learner's attempt), asks
the sandbox what each did (``GET /_sandbox/dispatches/{id}``) and judges the latest, so any correct solution
passes. A wrong one is told what went wrong, never the answer: the hints are there for that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from fbfailover.errors import WaitTimeout
from fbfailover.tutorial import follow
from fbfailover.tutorial.checks import CheckResult, Exercise
from fbfailover.tutorial.session import Tutorial, sent_workflows

__all__ = ["ends_in_error", "sms_after", "v1_reaches_sms"]

Verdict = tuple[bool, list[Any]]  # solved?, lines explaining why


def _line(item: Any) -> str:
    return f"{item[0]}: {item[1]}" if isinstance(item, tuple) else str(item)


def _exercise(tut: Tutorial, name: str, task: str, hints: list[str], kind: str,
              judge: Callable[[dict[str, Any]], Verdict], solution: str) -> Exercise:
    """An ``Exercise`` whose check judges the newest workflow of ``kind`` sent since it was made."""
    known = len(sent_workflows(tut))  # only what this kernel sends from now on counts

    def records() -> list[dict[str, Any]]:
        found = [tut.sandbox.dispatch(i) for i in sent_workflows(tut)[known:]]
        return sorted((r for r in found if r.get("kind") == kind), key=lambda r: r["created"])

    def latest(wait: float = 5.0) -> dict[str, Any] | None:
        found = records()
        if not found or found[-1].get("finished") or tut.receiver is None:
            return found[-1] if found else None
        newest = found[-1]  # still running: wait for its webhooks to say it ended, then read it again
        with contextlib.suppress(WaitTimeout):
            if kind == "dispatch":
                follow.dispatch_events(tut.receiver, newest["dispatch_uuid"], timeout=wait)
            else:
                follow.workflow_events(tut.receiver, newest["dispatch_uuid"], timeout=wait, settle=0)
        return records()[-1]

    def check() -> CheckResult:
        if not tut.offline:
            return CheckResult(False, "the checks read the offline sandbox's records: in live mode there is "
                               "nothing to check", ["run this notebook against the sandbox (no Vonage credentials)"])
        record = latest()
        if record is None:
            what = "Dispatch workflow" if kind == "dispatch" else "Messages API v1 message with failover"
            return CheckResult(False, f"this notebook sent no {what} since the exercise was shown",
                               ["edit the cell above and run it, then run this check again"])
        solved, lines = judge(record)
        return CheckResult(solved, name, [_line(line) for line in lines])

    return Exercise(name, task, hints, solution, check)


# --- reading a workflow record ---------------------------------------------------------------------------------
def _sent(record: dict[str, Any]) -> list[tuple[str, float]]:
    """``(channel, simulated epoch seconds)`` of every message the workflow sent, in order."""
    return [(e["channel"], float(e["at_unix"])) for e in record.get("events", []) if e.get("event") == "sent"]


def _statuses(record: dict[str, Any]) -> str:
    return ", ".join(f"{m['channel']} {m['status']}" for m in record.get("messages", [])) or "no message"


def _expiry(record: dict[str, Any]) -> float | None:
    for e in record.get("events", []):
        if e.get("event") == "sent" and e.get("expiry_deadline"):
            from fbfailover.webhooks.events import parse_timestamp

            deadline = parse_timestamp(e["expiry_deadline"])
            return round(deadline.timestamp() - float(e["at_unix"])) if deadline else None
    return None


def _final(record: dict[str, Any]) -> str | None:
    report = record.get("final_report")
    if isinstance(report, dict):
        return report.get("status") or (report.get("body") or {}).get("status")
    return None


# --- the exercises ---------------------------------------------------------------------------------------------
def sms_after(tut: Tutorial, seconds: int = 30) -> Exercise:
    """Step 04: make the SMS go out ``seconds`` simulated seconds after the Messenger message."""
    def judge(record: dict[str, Any]) -> Verdict:
        sent = _sent(record)
        lines: list[Any] = [("messages sent", ", ".join(c for c, _ in sent)), ("statuses", _statuses(record))]
        if [c for c, _ in sent][:2] != ["messenger", "sms"]:
            lines.append("No SMS went out after the Messenger message, so there is no gap to measure: the "
                         "recipient read it in time (a recipient rule of the sandbox, set in an earlier cell?).")
            return False, lines
        gap = round(sent[1][1] - sent[0][1], 3)
        lines.insert(0, ("SMS after Messenger", f"{gap:g} s (simulated)"))
        if gap == seconds:
            lines.append(f"The failover condition's expiry_time ({_expiry(record)} s) ran out, so the SMS "
                         "followed exactly then.")
            return True, lines
        if gap == 0:
            lines.append("The SMS went out at once because the Messenger message failed: a failure does not wait "
                         "for anything (a recipient rule of the sandbox, set in an earlier cell?).")
        else:
            lines.append(f"The SMS followed {gap:g} s after the Messenger message, not {seconds} s.")
        return False, lines

    return _exercise(tut, f"the SMS goes out {seconds} s after the Messenger message",
                     f"Edit the body so that, when nobody reads the Messenger message, the SMS follows {seconds} "
                     "simulated seconds later (not 600). Send it, then run the check.",
                     ["What decides when a workflow moves on is the failover condition of the first message.",
                      f"failover_condition(expiry_time={seconds}, condition_status=\"read\") — the minimum is 15 s."],
                     "dispatch", judge, "solutions/04_sms_after_30_seconds.py")


def ends_in_error(tut: Tutorial) -> Exercise:
    """Step 04: send a workflow whose final report says ``error``."""
    def judge(record: dict[str, Any]) -> Verdict:
        final = _final(record)
        lines: list[Any] = [("final report", final or "(not yet)"), ("statuses", _statuses(record))]
        if final == "error":
            lines.append("The last message of the workflow failed, and nothing was left to fail over to.")
            return True, lines
        last = (record.get("messages") or [{}])[-1]
        if last.get("channel") != "sms" or len(record.get("messages", [])) < 2:
            lines.append("The workflow ended before its last message: the first one met its condition in time, "
                         "which completes the workflow.")
        else:
            lines.append("The last message, the SMS, was delivered, so the workflow completed.")
        return False, lines

    return _exercise(tut, "a workflow that ends in error",
                     "Make the sandbox's recipient behave so that the final report of your next workflow says "
                     "error, then send the body again and run the check.",
                     ["A dispatch ends in error when the last message of its workflow fails.",
                      "tut.sandbox.set_recipient(\"sms\", <the SMS's to number>, \"undeliverable\")"],
                     "dispatch", judge, "solutions/04_ends_in_error.py")


def v1_reaches_sms(tut: Tutorial) -> Exercise:
    """Step 05: make a Messages API v1 failover reach (and deliver) the SMS."""
    def judge(record: dict[str, Any]) -> Verdict:
        messages = record.get("messages", [])
        lines: list[Any] = [("statuses", _statuses(record))]
        sms = [m for m in messages if m.get("channel") == "sms"]
        if sms and sms[-1].get("status") in ("delivered", "read"):
            lines.append("Messenger failed, so v1 moved on to the SMS in the failover list at once.")
            return True, lines
        if sms:
            lines.append(f"The SMS was sent but ended {sms[-1].get('status')}, not delivered (a recipient rule of "
                         "the sandbox, set in an earlier cell?).")
        elif messages and messages[0].get("status") in ("delivered", "read"):
            lines.append("Messenger delivered the message, and for v1 that is a success: nothing more was sent.")
        else:
            lines.append("No SMS went out: is there an SMS in the body's failover list?")
        return False, lines

    return _exercise(tut, "the v1 failover reaches the SMS",
                     "Change what the sandbox's Messenger recipient does so that the Messages API v1 message "
                     "fails over and the SMS is delivered. Send the body, then run the check.",
                     ["v1 has no timer: only a rejected message moves the workflow on (an undeliverable one ends it).",
                      "tut.sandbox.set_recipient(\"messenger\", tut.settings.fb_recipient_id, \"rejected\")"],
                     "v1", judge, "solutions/05_v1_reaches_sms.py")
