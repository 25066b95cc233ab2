"""How the commands show things: JSON documents and aligned tables.

JSON times are ISO 8601 in the configured zone, with their offset; human
output shows local times and how far away they are ("in 2 days").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from followup import content
from followup.app import View
from followup.models import Draft, Nudge


def iso(moment: datetime | date | None, zone: ZoneInfo) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(zone).isoformat(timespec="seconds")
    return moment.isoformat()


def interview_json(view: View, zone: ZoneInfo, detail: bool = False) -> dict[str, Any]:
    record, interview, coming = view.record, view.interview, view.due_next
    doc: dict[str, Any] = {
        "id": interview.id,
        "company": interview.company,
        "role": interview.role,
        "interviewer": interview.interviewer,
        "email": interview.email,
        "interview_at": iso(interview.interview_at, zone),
        "reply_by": iso(interview.reply_by, zone),
        "notes": interview.notes,
        "status": str(interview.status),
        "outcome": interview.outcome,
        "snoozed_until": iso(interview.snoozed_until, zone),
        "followups_sent": record.followups_sent,
        "nudges_fired": record.nudges_fired,
        "next_nudge_at": iso(coming.fire_at, zone) if coming else None,
        "next_nudge_number": coming.number if coming else None,
        "next_nudge_note": stale_note(view),
    }
    if detail:
        doc["followups"] = [{"number": f.number, "sent_at": iso(f.sent_at, zone),
                             "note": f.note} for f in record.followups]
        doc["nudges"] = [nudge_json(n, zone) for n in record.nudges]
    return doc


def nudge_json(nudge: Nudge, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "number": nudge.number,
        "fired_at": iso(nudge.fired_at, zone),
        "deliveries": [
            {"channel": d.channel, "status": str(d.status), "attempts": d.attempts,
             "delivered_at": iso(d.delivered_at, zone), "error": d.error}
            for d in nudge.deliveries
        ],
    }


def due_json(views: Sequence[View], zone: ZoneInfo) -> list[dict[str, Any]]:
    return [
        {"interview_id": v.interview.id, "company": v.interview.company,
         "role": v.interview.role, "number": v.due_next.number,
         "opens_at": iso(v.due_next.opens_at, zone), "fire_at": iso(v.due_next.fire_at, zone)}
        for v in views if v.due_next
    ]


def stale_note(view: View) -> str | None:
    """Why a nudge that is due will not be delivered, or None."""
    if view.next is None or not view.next.stale:
        return None
    return (f"follow-up {view.next.number} is not nudged: its window opened "
            f"{view.next.opens_at:%Y-%m-%d}, longer ago than [rules] stale_after_days")


# --- human output --------------------------------------------------------------------------


def when(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'Thu 27 Nov 2026 09:00 (in 2 days)'."""
    local = moment.astimezone(zone)
    delta = moment - now
    relative = content.until(delta) if delta.total_seconds() >= 0 else content.ago(-delta)
    return f"{local:%a %d %b %Y %H:%M} ({relative})"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], limit: int = 40) -> str:
    """Rows under headers, each column as wide as its widest cell (cut at `limit`)."""
    cells = [[_cut(str(c), limit) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def next_text(view: View, zone: ZoneInfo, now: datetime) -> str:
    if view.due_next:
        return f"#{view.due_next.number} {when(view.due_next.fire_at, zone, now)}"
    if view.next and view.next.stale:
        return f"#{view.next.number} not nudged (stale)"
    return "-"


def interview_table(views: Sequence[View], zone: ZoneInfo, now: datetime) -> str:
    if not views:
        return "No interviews. Add one with `followup add --company C --role R --at TIME`."
    rows = [[str(v.interview.id), v.interview.company, v.interview.role,
             f"{v.interview.interview_at.astimezone(zone):%Y-%m-%d %H:%M}",
             str(v.interview.status), f"{v.record.followups_sent}",
             next_text(v, zone, now)] for v in views]
    return table(["ID", "COMPANY", "ROLE", "INTERVIEW", "STATUS", "SENT", "NEXT NUDGE"], rows)


def interview_detail(view: View, zone: ZoneInfo, now: datetime) -> str:
    i = view.interview
    lines = [
        f"#{i.id}  {i.company} — {i.role}",
        f"  interview:    {when(i.interview_at, zone, now)}",
        f"  interviewer:  {i.interviewer or '-'}" + (f" <{i.email}>" if i.email else ""),
        f"  status:       {i.status}" + (f" ({i.outcome})" if i.outcome else ""),
    ]
    if i.reply_by:
        lines.append(f"  reply by:     {i.reply_by:%a %d %b %Y}")
    if i.snoozed_until and i.snoozed_until > now:
        lines.append(f"  snoozed:      until {when(i.snoozed_until, zone, now)}")
    lines.append(f"  next nudge:   {next_text(view, zone, now)}")
    if note := stale_note(view):
        lines.append(f"                {note}")
    for f in view.record.followups:
        lines.append(f"  follow-up {f.number}:  sent {when(f.sent_at, zone, now)}"
                     + (f" — {f.note}" if f.note else ""))
    for n in view.record.nudges:
        states = ", ".join(f"{d.channel} {d.status}" + (f" ({d.error})" if d.error else "")
                           for d in n.deliveries) or "no channel"
        lines.append(f"  nudge {n.number}:      {when(n.fired_at, zone, now)}: {states}")
    if i.notes:
        lines.append("  notes:")
        lines.extend(f"    {line}" for line in i.notes.splitlines())
    return "\n".join(lines)


def due_table(coming: Sequence[View], stale: Sequence[View], zone: ZoneInfo,
              now: datetime, days: int) -> str:
    if coming:
        rows = [[str(v.interview.id), v.interview.company, v.interview.role,
                 f"{v.due_next.number}", when(v.due_next.fire_at, zone, now)] for v in coming]
        text = table(["ID", "COMPANY", "ROLE", "FOLLOW-UP", "NUDGE AT"], rows)
    else:
        text = f"Nothing due in the next {days} days."
    notes = [f"#{v.interview.id} {v.interview.company}: {stale_note(v)}" for v in stale]
    return "\n".join([text, *notes])


def draft_text(draft: Draft) -> str:
    return f"To: {draft.to or '(no address recorded)'}\nSubject: {draft.subject}\n\n{draft.body}"


def last_deliveries_json(last: Sequence, zone: ZoneInfo) -> list[dict[str, Any]]:
    return [{"channel": channel, "status": str(d.status), "attempts": d.attempts,
             "delivered_at": iso(d.delivered_at, zone), "error": d.error,
             "interview_id": interview_id, "number": number, "company": company}
            for channel, d, interview_id, number, company in last]


def service_text(state: Any, coming: Sequence[View], last: Sequence, zone: ZoneInfo,
                 now: datetime) -> str:
    """`followup service status` for a person."""
    if not state.installed:
        lines = ["service:      not installed (`followup service install`)"]
    else:
        since = f" since {when(state.since, zone, now)}" if state.since else ""
        lines = [f"service:      {state.active_state} ({state.sub_state}){since}",
                 f"unit:         {state.unit_path} ({state.unit_file_state or 'unknown'})"]
        if state.status_text:
            lines.append(f"status:       {state.status_text}")
        if state.exit_status == 78:
            lines.append("              the configuration is invalid: `followup config check`")
    lines.append("next nudges:  " + ("none in the next 14 days" if not coming else ""))
    lines.extend(f"  #{v.interview.id} {v.interview.company} — follow-up {v.due_next.number}"
                 f", {when(v.due_next.fire_at, zone, now)}" for v in coming)
    lines.append("deliveries:   " + ("none yet" if not last else ""))
    for channel, d, interview_id, number, company in last:
        done = when(d.delivered_at, zone, now) if d.delivered_at else f"{d.attempts} attempt(s)"
        error = f": {d.error}" if d.error else ""
        lines.append(f"  {channel}: {d.status}, {done} (#{interview_id} {company}, "
                     f"nudge {number}){error}")
    return "\n".join(lines)


def sources_text(sources: dict[str, dict], zone: ZoneInfo, now: datetime) -> str:
    """The sources' part of `service status`: each one's state since when, and why."""
    lines = ["sources:      " + ("none enabled" if not sources else "")]
    for name, status in sources.items():
        since = datetime.fromisoformat(status["since"])
        detail = f": {status['detail']}" if status.get("detail") else ""
        lines.append(f"  {name}: {status['state']} since {when(since, zone, now)}{detail}")
    return "\n".join(lines)
