"""The chaos run's accounts: what arrived where, sent by which daemon, and for each
repeat the kill (or the "in doubt" stop) that explains it.

DESIGN "Exactly once": a nudge reaches a channel twice only when the daemon that
sent the first copy died between that send and its record. So a copy is explained
when its sender was SIGKILLed, its log holds no "delivered" record of that
delivery (the record is logged once it is committed), and another copy came after
the kill (a copy sent again before the kill is no kill's doing). A nudge that
arrived n times needs n - 1 explained copies, from n - 1 different daemons. An
email digest (one email for several nudges) caught by a kill repeats each of its
nudges: one kill explains them all, and the report says so.

A delivery recorded "in doubt" (a stop while the channel was still sending) is
final: it is never sent again, so it explains no repeat; a copy after it would be
the blind retry DESIGN forbids. Its sender's log line is reported beside the copy.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

DELIVERED = re.compile(r"delivered nudge 1 for interview (\d+) \([^)\n]*\) by (\w+)\s*$", re.M)
IN_DOUBT = re.compile(r"nudge 1 for interview (\d+) by (\w+) is in doubt")


@dataclass(frozen=True)
class Arrival:
    """One copy a channel received: the nudges (company numbers) in it, from which
    daemon (its index in the run, None when not found), when (time.time())."""

    channel: str
    companies: frozenset[int]
    daemon: int | None
    at: float


@dataclass(frozen=True)
class Kill:
    daemon: int
    at: float  # time.time()


@dataclass
class Repeat:
    channel: str
    company: int
    copies: int
    explained_by: list[tuple[str, str]] = field(default_factory=list)  # (cause, how)
    unexplained: list[str] = field(default_factory=list)


def recorded(log: str) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """The deliveries (interview id, channel) a daemon's log says it recorded
    delivered, and those it recorded in doubt."""
    delivered = {(int(i), c) for i, c in DELIVERED.findall(log)}
    in_doubt = {(int(i), c) for i, c in IN_DOUBT.findall(log)}
    return delivered, in_doubt


def trace(arrivals: list[Arrival], ids: list[int], logs: dict[int, str],
          kills: list[Kill], started: float) -> list[Repeat]:
    """Every repeated arrival, with what explains each of its extra copies."""
    records = {d: recorded(text) for d, text in logs.items()}
    killed = {k.daemon: (n, k) for n, k in enumerate(kills, 1)}
    copies: dict[tuple[str, int], list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        for company in arrival.companies:
            copies[arrival.channel, company].append(arrival)
    repeats = []
    for (channel, company), seen in sorted(copies.items()):
        if len(seen) < 2:
            continue
        repeat = Repeat(channel, company, len(seen))
        key = (ids[company], channel)
        explained: dict[int, tuple[str, str]] = {}  # daemon -> (cause, how): one copy each
        for arrival in sorted(seen, key=lambda a: a.at):
            why = _explanation(arrival, seen, key, records, killed, started)
            if why and arrival.daemon not in explained:
                explained[arrival.daemon] = why
            else:
                repeat.unexplained.append(
                    f"copy at +{arrival.at - started:.2f} s from "
                    f"{_daemon(arrival.daemon)}: "
                    f"{why[0] if why else _why_not(arrival, key, records)}")
        repeat.explained_by = list(explained.values())[:len(seen) - 1]
        if len(explained) >= len(seen) - 1:
            repeat.unexplained = []
        repeats.append(repeat)
    return repeats


def _explanation(arrival: Arrival, seen: list[Arrival], key: tuple[int, str], records,
                 killed, started: float) -> tuple[str, str] | None:
    if arrival.daemon is None:
        return None
    delivered, _ = records.get(arrival.daemon, (set(), set()))
    digest = (f" (an email of {len(arrival.companies)} nudges)"
              if len(arrival.companies) > 1 else "")
    number, kill = killed.get(arrival.daemon, (0, None))
    resent = kill is not None and any(o.at > kill.at for o in seen if o is not arrival)
    if resent and key not in delivered:
        return (f"SIGKILL #{number} (daemon {arrival.daemon}, +{kill.at - started:.2f} s)",
                f"its copy{digest} arrived at +{arrival.at - started:.2f} s, no record")
    return None


def _why_not(arrival: Arrival, key: tuple[int, str], records) -> str:
    if arrival.daemon is None:
        return "its sender was not found"
    delivered, in_doubt = records.get(arrival.daemon, (set(), set()))
    if key in delivered:
        return "its sender recorded it delivered"
    if key in in_doubt:
        return "its sender recorded it in doubt (final: never to be sent again)"
    return "its sender was not killed, or no copy came after its kill"


def _daemon(index: int | None) -> str:
    return "an unknown daemon" if index is None else f"daemon {index}"


def explained_by_kill(repeats: list[Repeat]) -> dict[str, list[str]]:
    """Kill -> the repeats it explains ("email 12"), for the closing note."""
    by_kill: dict[str, list[str]] = defaultdict(list)
    for repeat in repeats:
        for cause, _ in repeat.explained_by:
            by_kill[cause].append(f"{repeat.channel} {repeat.company}")
    return dict(by_kill)
