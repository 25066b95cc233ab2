"""Synthetic interview databases for the benchmarks.

The schema comes from the application itself (`Store.open` runs the
migrations); the rows are bulk-inserted with sqlite3 `executemany` in one
transaction, timestamps written as SQLAlchemy's SQLite DateTime writes them:
naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff".

The mix is that of a database a daemon has been keeping for a while:

- interviews spread over the last 60 days and the next 14, on weekdays in
  office hours (Europe/Berlin);
- about 70 % of the past ones still waiting, the rest heard back or closed;
- every nudge whose time has come was fired (and delivered to two channels),
  and the user sent the follow-up after half of them;
- some interviews were entered late, long after the fact: their nudge is
  stale and will not be delivered;
- nothing falls due in the next hour (those are snoozed by a day), so that
  the idle measurements see an idle daemon, while the nudges due later today
  still give the scheduler its one-shot jobs.

The history is made with the application's own rules (`followup.rules`), so
the database is one the daemon would have produced.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from followup import rules
from followup.config import Settings, parse_text
from followup.models import Delivery, DeliveryStatus, FollowUp, Interview, Nudge, Record, Status
from followup.store import Store

QUIET = timedelta(hours=1)  # no nudge may fall due this soon after generation
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell",
             "Cyberdyne", "Soylent", "Wonka", "Aperture", "Vandelay", "Oscorp", "Monarch")
ROLES = ("Backend Engineer", "Data Analyst", "Product Manager", "SRE", "Designer",
         "Frontend Engineer", "QA Engineer", "Engineering Manager")
NOTE = ("We discussed the migration of their billing system to event sourcing, the team's "
        "on-call rotation and how they review designs. They liked the idea of contract "
        "tests between services. Next step would be a systems design round.")


def timestamp(moment: datetime | None) -> str | None:
    """A datetime as the store writes it: naive UTC text with microseconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@dataclass
class Made:
    """What was generated: the path and how the next nudges fall."""

    path: Path
    interviews: int
    seconds: float = 0.0
    mix: Counter = field(default_factory=Counter)


def settings_for(config_text: str) -> Settings:
    return parse_text(config_text)


def generate(path: Path, count: int, settings: Settings, now: datetime,
             seed: int = 1) -> Made:
    """Write a database of `count` interviews at `path` (replacing it).

    The history is played in two worker processes (the rules cost about 50 µs
    a call), in chunks seeded on their own so the result does not depend on
    the number of workers.
    """
    import time as clock
    from concurrent.futures import ProcessPoolExecutor

    started = clock.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    Store.open(f"sqlite:///{path}").close()
    chunks = [(first, min(first + CHUNK, count + 1), seed, now, settings)
              for first in range(1, count + 1, CHUNK)]
    made = Made(path, count)
    rows: list[tuple] = []
    if len(chunks) == 1:
        results = [_rows(*chunks[0])]
    else:
        with ProcessPoolExecutor(2) as pool:
            results = list(pool.map(_rows, *zip(*chunks, strict=True)))
    for chunk_rows, mix in results:
        rows.extend(chunk_rows)
        made.mix.update(mix)
    _insert(path, rows)
    made.seconds = clock.perf_counter() - started
    return made


CHUNK = 5000


def _rows(first: int, end: int, seed: int, now: datetime,
          settings: Settings) -> tuple[list[tuple], Counter]:
    """The rows of interviews `first` to `end - 1`, and how their next nudges fall."""
    policy = settings.policy()
    rng = random.Random(seed * 1_000_003 + first)
    mix: Counter = Counter()
    out = []
    for number in range(first, end):
        record = _history(_interview(number, rng, now, policy.zone), rng, now, policy)
        mix[_classify(record, policy, now)] += 1
        out.append(_record_rows(record, now, policy))
    return out, mix


def _interview(number: int, rng: random.Random, now: datetime, zone) -> Interview:
    local_day = now.astimezone(zone).date() + timedelta(days=rng.randint(-60, 14))
    while local_day.weekday() >= 5:
        local_day -= timedelta(days=1)
    wall = time(9 + rng.randint(0, 7), rng.choice((0, 15, 30, 45)))
    at = datetime.combine(local_day, wall, tzinfo=zone).astimezone(UTC)
    reply_by = local_day + timedelta(days=rng.randint(7, 14)) if rng.random() < 0.2 else None
    company = f"{rng.choice(COMPANIES)} {number}"
    return Interview(id=number, company=company, role=rng.choice(ROLES), interview_at=at,
                     interviewer=f"Alex Person{number}", email=f"alex{number}@example.com",
                     notes=NOTE if rng.random() < 0.7 else "", reply_by=reply_by)


def _history(interview: Interview, rng: random.Random, now: datetime, policy) -> Record:
    """Play the daemon and the user forward from the interview to `now`."""
    record = Record(interview)
    # Entered late, long after the fact: no history, and its first nudge is stale.
    entered_late = interview.interview_at < now - timedelta(days=35) and rng.random() < 0.08
    for _ in range(0 if entered_late else policy.max_followups):
        upcoming = rules.next_nudge(record, policy, interview.interview_at)
        if upcoming is None or upcoming.fire_at > now:
            break
        deliveries = tuple(Delivery(name, DeliveryStatus.DELIVERED, 1,
                                    upcoming.fire_at + timedelta(seconds=1))
                           for name in ("desktop", "email"))
        # It reached the user at once: that opens the next window (rules).
        nudge = Nudge(upcoming.number, upcoming.fire_at, deliveries,
                      reached_at=upcoming.fire_at + timedelta(seconds=1))
        record = replace(record, nudges=(*record.nudges, nudge))
        sent_at = upcoming.fire_at + timedelta(hours=rng.uniform(0.5, 48))
        if rng.random() < 0.5 and sent_at < now:
            followup = FollowUp(upcoming.number, sent_at, "")
            record = replace(record, followups=(*record.followups, followup))
    past = interview.interview_at < now
    roll = rng.random()
    status = (Status.HEARD if past and roll < 0.18 else
              Status.CLOSED if past and roll < 0.30 else Status.WAITING)
    upcoming = rules.next_nudge(replace(record, interview=replace(interview, status=status)),
                                policy, now)
    snooze = None
    if upcoming is not None and not upcoming.stale and upcoming.fire_at <= now + QUIET:
        snooze = now + timedelta(days=1)  # the user snoozed it; keeps the daemon idle
    return replace(record, interview=replace(interview, status=status, snoozed_until=snooze))


def _classify(record: Record, policy, now: datetime) -> str:
    upcoming = rules.next_nudge(record, policy, now)
    if upcoming is None:
        return "no nudge left" if record.interview.status is Status.WAITING else "not waiting"
    if upcoming.stale:
        return "stale"
    if upcoming.fire_at <= now + timedelta(hours=12):
        return "due within 12 h"
    if upcoming.fire_at <= now + timedelta(days=3):
        return "due in 12 h-3 days"
    return "due later"


def _record_rows(record: Record, now: datetime, policy) -> tuple:
    """(interview row, follow-up rows, [(nudge row, delivery rows)]) for one record."""
    i = record.interview
    created = min(i.interview_at, now) - timedelta(hours=2)
    interview = (i.id, i.company, i.role, i.interviewer, i.email, i.notes,
                 timestamp(i.interview_at), i.reply_by.isoformat() if i.reply_by else None,
                 str(i.status), "other" if i.status is Status.HEARD else None,
                 timestamp(i.snoozed_until), timestamp(created), timestamp(created))
    sent = [(i.id, f.number, timestamp(f.sent_at), f.note) for f in record.followups]
    fired = [((i.id, n.number, timestamp(rules.window_opens(record, n.number, policy)),
               timestamp(n.fired_at)),
              [(d.channel, str(d.status), d.attempts, timestamp(d.delivered_at))
               for d in n.deliveries])
             for n in record.nudges]
    return interview, sent, fired


def _insert(path: Path, rows: list[tuple]) -> None:
    interviews, followups, nudges, deliveries = [], [], [], []
    for interview, sent, fired in rows:
        interviews.append(interview)
        followups.extend(sent)
        for nudge, its_deliveries in fired:
            nudges.append((len(nudges) + 1, *nudge))
            deliveries.extend((len(nudges), *d) for d in its_deliveries)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO interviews (id, company, role, interviewer, email, notes, "
            "interview_at, reply_by, status, outcome, snoozed_until, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", interviews)
        conn.executemany("INSERT INTO followups (interview_id, number, sent_at, note) "
                         "VALUES (?, ?, ?, ?)", followups)
        conn.executemany("INSERT INTO nudges (id, interview_id, number, opens_at, fired_at) "
                         "VALUES (?, ?, ?, ?, ?)", nudges)
        conn.executemany("INSERT INTO deliveries (nudge_id, channel, status, attempts, "
                         "delivered_at) VALUES (?, ?, ?, ?, ?)", deliveries)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def add_due(path: Path, fire_times: list[datetime], created: datetime) -> list[int]:
    """Add waiting interviews at the given instants (first_after_days = 0 makes each
    one's nudge fall due then), through the store as the command line does (so the
    stored plan has them); returns their ids."""
    store = Store.open(f"sqlite:///{path}")
    try:
        return [store.add_interview(Interview(id=0, company=f"Lag {n}", role="Engineer",
                                              interview_at=at), created).id
                for n, at in enumerate(fire_times)]
    finally:
        store.close()


def size_bytes(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal")
               if Path(f"{path}{suffix}").exists())
