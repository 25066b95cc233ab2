"""How the commands show things: JSON documents and aligned tables.

JSON times are ISO 8601 in the configured zone, with their offset; human
output shows local times and how far away they are ("in 2 days").
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from followup import content
from followup.models import (
    Coming,
    Delivery,
    DeliveryStatus,
    Draft,
    NextNudge,
    Nudge,
    Status,
    Table,
    View,
)


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
        "topics": interview.topics,
        "notes": interview.notes,
        "status": str(interview.status),
        "outcome": interview.outcome,
        "snoozed_until": iso(interview.snoozed_until, zone),
        "followups_sent": record.followups_sent,
        "nudges_fired": record.nudges_fired,
        "next_nudge_at": iso(coming.fire_at, zone) if coming else None,
        "next_nudge_number": coming.number if coming else None,
        "next_nudge_note": stale_note(view, zone),
        "domains": list(interview.domains),
        "source": str(interview.source),
        "heard_via": str(interview.heard_via) if interview.heard_via else None,
        "language": interview.language,
    }
    if detail:
        doc["heard_message"] = interview.heard_message
        doc["followups"] = [{"number": f.number, "sent_at": iso(f.sent_at, zone),
                             "note": f.note} for f in record.followups]
        doc["nudges"] = [nudge_json(n, zone) for n in record.nudges]
    return doc


def nudge_json(nudge: Nudge, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "number": nudge.number,
        "fired_at": iso(nudge.fired_at, zone),
        "deliveries": [
            delivery_json(d, zone) for d in nudge.deliveries
        ],
    }


def due_json(table: Table, zone: ZoneInfo) -> list[dict[str, Any]]:
    """`due --json` of `App.due_table`'s coming rows."""
    docs = []
    for id_, company, role, *plan in table.rows():
        nudge = table.coming(*plan)
        docs.append({"interview_id": id_, "company": company, "role": role,
                     "number": nudge.number, "opens_at": iso(nudge.opens_at, zone),
                     "fire_at": iso(nudge.fire_at, zone)})
    return docs


def stale_note(view: View, zone: ZoneInfo) -> str | None:
    """Why a nudge that is due will not be delivered, or why none comes; else None."""
    if view.held_by is not None:
        return held_note(view)
    if view.next is None or not view.next.stale:
        return None
    return _stale_words(view.next, zone)


def _stale_words(nudge: NextNudge | Coming, zone: ZoneInfo) -> str:
    return (f"follow-up {nudge.number} is not nudged: its window opened "
            f"{nudge.opens_at.astimezone(zone):%Y-%m-%d}, longer ago than [rules] "
            "stale_after_days")


def held_note(view: View) -> str:
    """Why no next nudge comes: nudge k has not reached the user (see rules)."""
    k, interview_id = view.held_by.number, view.interview.id
    if not view.held_by.settled:
        return (f"follow-up {k + 1}'s window opens once nudge {k} reaches you (its delivery "
                f"is under way), or once you record follow-up {k} (`followup sent "
                f"{interview_id}`)")
    return (f"nudge {k} reached no channel (every delivery failed), so no window opened "
            f"for follow-up {k + 1}: it waits until you record follow-up {k} (`followup "
            f"sent {interview_id}`)")


# How a delivery's failure reads: the channel's own words, after what happens next.
LEGACY_WORDS = {"transient": "will retry", "permanent": "gave up"}  # errors written by 0.1


def plain_error(error: str | None) -> str | None:
    """A recorded delivery error in plain words (older databases wrote "transient: ...")."""
    if not error:
        return error
    kind, sep, reason = error.partition(": ")
    return f"{LEGACY_WORDS[kind]}: {reason}" if sep and kind in LEGACY_WORDS else error


def delivery_text(d: Delivery, zone: ZoneInfo, now: datetime) -> str:
    """One channel's delivery as a person reads it: "email will retry Mon 30 Nov ...:
    the server is busy", "command gave up (after 5 attempts: ...)", "desktop delivered"."""
    error = plain_error(d.error)
    if d.status is DeliveryStatus.RETRYING:
        at = f" {when(d.next_attempt_at, zone, now)}" if d.next_attempt_at else ""
        return f"{d.channel} failed (will retry{at}: {error})"
    if d.status is DeliveryStatus.GAVE_UP:
        return f"{d.channel} gave up" + (f" ({error.removeprefix('gave up: ')})"
                                         if error else "")
    if d.status is DeliveryStatus.CANCELLED:
        return f"{d.channel} cancelled" + (f" ({error})" if error else "")
    if d.status is DeliveryStatus.IN_DOUBT:
        return f"{d.channel} in doubt ({error or 'it may have arrived'}; not sent again)"
    return f"{d.channel} {d.status}" + (f" ({error})" if error else "")


# --- human output --------------------------------------------------------------------------


def when(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'Thu 27 Nov 2026 09:00 (in 2 days)'."""
    local = moment.astimezone(zone)
    delta = moment - now
    relative = content.until(delta) if delta.total_seconds() >= 0 else content.ago(-delta)
    return f"{local:%a %d %b %Y %H:%M} ({relative})"


def width(text: str) -> int:
    """How many terminal columns the text takes."""
    if text.isascii():  # one column a character (control characters are never stored)
        return len(text)
    from wcwidth import wcswidth  # only the commands that print tables need it

    found = wcswidth(text)
    return len(text) if found < 0 else found  # < 0: a control character (never stored)


def _cut(text: str, limit: int) -> str:
    """The text, at most `limit` columns wide: cut with "…" when longer."""
    if text.isascii():
        return text if len(text) <= limit else text[:limit - 1] + "…"
    if width(text) <= limit:
        return text
    kept = ""
    for char in text:
        if width(kept + char) > limit - 1:
            break
        kept += char
    return kept + "…"


def next_text(view: View, zone: ZoneInfo, now: datetime) -> str:
    return coming_text(view.next, zone, now)


def coming_text(nudge: NextNudge | Coming | None, zone: ZoneInfo, now: datetime) -> str:
    """'#2 Thu 03 Dec 2026 09:00 (in 10 hours)', '#1 not nudged (stale)', or '-'."""
    if nudge is None:
        return "-"
    if nudge.stale:
        return f"#{nudge.number} not nudged (stale)"
    return f"#{nudge.number} {when(nudge.fire_at, zone, now)}"


LIST_HEADERS = ("ID", "COMPANY", "ROLE", "INTERVIEW", "STATUS", "SENT", "NEXT NUDGE")
DUE_HEADERS = ("ID", "COMPANY", "ROLE", "FOLLOW-UP", "NUDGE AT")
NO_INTERVIEWS = "No interviews. Add one with `followup add --company C --role R --at TIME`."


def list_text(table: Table, zone: ZoneInfo) -> str:
    """`list`'s table of `App.list_table`, made column by column (see `_table_text`):
    each interview time's and next nudge's text is made once per distinct value (many
    interviews share them at any size)."""
    if not len(table):
        return NO_INTERVIEWS
    moment, coming, now = table.moment, table.coming, table.now
    minute = cache(lambda stored: _minute(moment(stored), zone))
    next_words = cache(lambda *plan: coming_text(coming(*plan), zone, now))
    ids, companies, roles, ats, statuses, sents, *plan = table.columns
    return _table_text(LIST_HEADERS, [ids, companies, roles, list(map(minute, ats)),
                                      statuses, sents, list(map(next_words, *plan))])


def list_promises(table: Table) -> bool:
    """Whether `list`'s table promises a nudge (one that is not stale)."""
    return any((nudge := table.coming(*plan)) is not None and not nudge.stale
               for plan in zip(*table.columns[6:], strict=True))


def due_text(table: Table, stale: Sequence[Any], zone: ZoneInfo, days: int) -> str:
    """`due`'s table of `App.due_table`, and a line for each stale nudge."""
    if len(table):
        now = table.now
        said = cache(lambda fire_at: when(fire_at, zone, now))  # 09:00 on a work day...
        ids, companies, roles, *plan = table.columns
        nudges = list(map(table.coming, *plan))
        text = _table_text(DUE_HEADERS, [ids, companies, roles,
                                         [nudge.number for nudge in nudges],
                                         [said(nudge.fire_at) for nudge in nudges]])
    else:
        text = f"Nothing due in the next {days} days."
    notes = [f"#{id_} {company}: {_stale_words(table.coming(*plan), zone)}"
             for id_, company, _role, *plan in stale]
    return "\n".join([text, *notes])


def _minute(moment: datetime, zone: ZoneInfo) -> str:
    """'2026-11-27 09:00' in `zone` (isoformat is twice as fast as strftime)."""
    return moment.astimezone(zone).isoformat(" ", "minutes")[:16]


def _table_text(headers: Sequence[str], columns: list[Sequence[Any]],
                limit: int = 40) -> str:
    """Columns under headers, each as wide as its widest cell, the last not padded.
    Columns 1 and 2 (company, role) are the user's texts: cut at `limit` terminal
    columns with "…", padded as a terminal shows them (a CJK character takes two
    columns, a combining one none). The hot path of `list` and `due` at any size:
    a column at a time, and when every text is plain ASCII within the limit (nearly
    always), each line formatted in one step."""
    headers, formats = list(headers), []
    for i, column in enumerate(columns[:-1]):
        if i in (1, 2) and not ("".join(column).isascii() and max(map(len, column)) <= limit):
            cells = [_cut(text, limit) for text in column]  # padded here, to their width
            widest = max(len(headers[i]), *map(width, cells))
            columns[i] = [text + " " * (widest - width(text)) for text in cells]
            headers[i] = headers[i].ljust(widest)
            formats.append("%s")
        else:
            widest = (len(str(max(column))) if isinstance(column[0], int)  # ids, counts
                      else max(map(len, column)))
            formats.append(f"%-{max(len(headers[i]), widest)}s")
    line = "  ".join([*formats, "%s"])
    return "\n".join([line % tuple(headers), *map(line.__mod__, zip(*columns, strict=True))])


def interview_detail(view: View, zone: ZoneInfo, now: datetime) -> str:
    i = view.interview
    lines = [
        f"#{i.id}  {i.company}" + (f" — {i.role}" if i.role else ""),
        f"  interview:    {when(i.interview_at, zone, now)}",
        f"  interviewer:  {i.interviewer or '-'}" + (f" <{i.email}>" if i.email else ""),
        f"  status:       {i.status}" + (f" ({i.outcome})" if i.outcome else ""),
    ]
    if i.reply_by:
        lines.append(f"  reply by:     {i.reply_by:%a %d %b %Y}")
    if i.topics:
        lines.append(f"  topics:       {i.topics}")
    if i.domains:
        lines.append(f"  domains:      {' '.join(i.domains)}")
    if i.heard_via:
        lines.append(f"  heard via:    {i.heard_via}" + heard_text(i.heard_message))
    if i.snoozed_until and i.snoozed_until > now and i.status is Status.WAITING:
        lines.append(f"  snoozed:      until {when(i.snoozed_until, zone, now)}")
    lines.append(f"  next nudge:   {next_text(view, zone, now)}")
    if note := stale_note(view, zone):
        lines.append(f"                {note}")
    for f in view.record.followups:
        lines.append(f"  follow-up {f.number}:  sent {when(f.sent_at, zone, now)}"
                     + (f" — {f.note}" if f.note else ""))
    for n in view.record.nudges:
        states = ", ".join(delivery_text(d, zone, now) for d in n.deliveries) or "no channel"
        lines.append(f"  nudge {n.number}:      {when(n.fired_at, zone, now)}: {states}")
    if i.notes:
        lines.append("  notes:")
        lines.extend(f"    {line}" for line in i.notes.splitlines())
    return "\n".join(lines)


def heard_text(heard_message: str | None) -> str:
    """The reply the mailbox saw, as a person reads it: ': "Next steps" from
    pat@acme.example' (the stored "sender | subject | Message-ID"; the Message-ID is
    for `--json`)."""
    if not heard_message:
        return ""
    head, sep, _message_id = heard_message.rpartition(" | ")
    if not sep:
        return f" ({heard_message})"
    sender, sep, subject = head.partition(" | ")
    return f': "{subject}" from {sender}' if sep else f": from {head}"


def draft_text(draft: Draft) -> str:
    return content.draft_text(draft)


def delivery_json(d: Delivery, zone: ZoneInfo) -> dict[str, Any]:
    """DESIGN's `status` (pending, delivered, failed), and the precise `state`:
    pending, retrying (at `next_attempt_at`), delivered, gave up, cancelled, in doubt
    (the daemon stopped while the channel was sending: not confirmed, so `failed`)."""
    status = "failed" if d.status in FAILED_STATES else str(d.status)
    return {"channel": d.channel, "status": status, "state": str(d.status),
            "attempts": d.attempts, "delivered_at": iso(d.delivered_at, zone),
            "next_attempt_at": iso(d.next_attempt_at, zone), "error": plain_error(d.error)}


FAILED_STATES = (DeliveryStatus.RETRYING, DeliveryStatus.GAVE_UP, DeliveryStatus.CANCELLED,
                 DeliveryStatus.IN_DOUBT)


def last_deliveries_json(last: Sequence, zone: ZoneInfo) -> list[dict[str, Any]]:
    return [delivery_json(d, zone) | {"interview_id": interview_id, "number": number,
                                      "company": company}
            for _, d, interview_id, number, company in last]


def service_text(state: Any, coming: Table, last: Sequence, zone: ZoneInfo,
                 sources: dict[str, Any] | None = None) -> str:
    """`followup service status` for a person. `state` is the user manager's view, or
    a string saying why there is none (no systemd here); the rest is from the database
    (`coming`: the first rows of `App.due_table`)."""
    now = coming.now
    lines = _service_lines(state, zone, now)
    for name, found in (sources or {}).items():
        lines.append(f"{name + ':':<14}{source_text(found, zone, now)}")
    lines.append("next nudges:  " + ("none in the next 14 days" if not len(coming) else ""))
    for id_, company, _role, *plan in coming.rows():
        nudge = coming.coming(*plan)
        lines.append(f"  #{id_} {company} — follow-up {nudge.number}, "
                     f"{when(nudge.fire_at, zone, now)}")
    lines.append("deliveries:   " + ("none yet" if not last else ""))
    for channel, d, interview_id, number, company in last:
        done = when(d.delivered_at, zone, now) if d.delivered_at else f"{d.attempts} attempt(s)"
        error = f": {plain_error(d.error)}" if d.error else ""
        lines.append(f"  {channel}: {d.status}, {done} (#{interview_id} {company}, "
                     f"nudge {number}){error}")
    return "\n".join(lines)


def _service_lines(state: Any, zone: ZoneInfo, now: datetime) -> list[str]:
    if isinstance(state, str):  # no user manager: the reason
        return [f"service:      unknown: {state}"]
    if not state.installed:
        return ["service:      not installed (`followup service install`)"]
    since = f" since {when(state.since, zone, now)}" if state.since else ""
    lines = [f"service:      {state.active_state} ({state.sub_state}){since}",
             f"unit:         {state.unit_path} ({state.unit_file_state or 'unknown'})"]
    if state.status_text:
        lines.append(f"status:       {state.status_text}")
    if state.exit_status == 78:
        lines.append("              the configuration is invalid: `followup config check`")
    return lines


def source_text(found: dict[str, Any] | None, zone: ZoneInfo, now: datetime) -> str:
    """A source's last reported state: "ok since Mon 30 Nov 09:00 (2 hours ago)"."""
    if not found:
        return "not reported (off, or the daemon has not started it)"
    text = str(found.get("state", "unknown"))
    with contextlib.suppress(KeyError, TypeError, ValueError):
        text += f" since {when(datetime.fromisoformat(found['since']), zone, now)}"
    return text + (f": {found['detail']}" if found.get("detail") else "")


def daemons_json(found: list, db_now: datetime) -> list[dict[str, Any]]:
    """Each daemon known to the database (store.daemons.DaemonInfo), JSON-ready."""
    return [{"host": d.host, "pid": d.pid, "channels": list(d.channels),
             "since": d.since.isoformat(), "heartbeat": d.heartbeat.isoformat(),
             "heartbeat_seconds_ago": max(0, round((db_now - d.heartbeat).total_seconds())),
             "stopped_at": d.stopped_at.isoformat() if d.stopped_at else None}
            for d in found]


def daemons_text(found: list, db_now: datetime, zone) -> str:
    """The `daemons:` block of `service status`: who delivers which channels, and when
    each was last heard from (on the database's clock, whatever this machine's says)."""
    if not found:
        return "daemons:      none has used this database yet"
    lines = [f"daemons:      {len(found)} on this database"]
    for d in found:
        channels = ", ".join(d.channels) or "no channel"
        since = d.since.astimezone(zone).strftime("%a %d %b %H:%M")
        heard = (f"stopped {content.ago(db_now - d.stopped_at)}" if d.stopped_at
                 else f"heartbeat {content.ago(db_now - d.heartbeat)}")
        lines.append(f"  {d.host} (pid {d.pid}): {channels}; since {since}, {heard}")
    return "\n".join(lines)
