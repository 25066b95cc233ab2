"""The labelled corpus of real mail (tests/data/mail/): what the pure decisions make
of each message, in one scenario that puts every message in the worst light.

The scenario: the message arrived in the inbox after an interview at the company
whose address sent it (its sender is the interviewer's `email`, and its domain
the company's unless a public provider's), and every message it names in
In-Reply-To / References is one of the user's follow-ups to that interviewer.
A human message is then a reply; anything else that came out "reply" would have
stopped the nudges silently.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from followup.sources.mailbox import replies
from followup.sources.mailbox.replies import Candidate, Folder, Kind

FOLDER = Path(__file__).resolve().parent.parent / "data" / "mail"
LABELS = FOLDER / "labels.tsv"
NOW = datetime(2100, 1, 1, tzinfo=UTC)
ARRIVED = datetime(2020, 6, 1, 12, 0, tzinfo=UTC)  # INTERNALDATE, as a server would give
KINDS = ("reply", "auto_reply", "automatic", "bounce", "none")


@dataclass(frozen=True)
class Label:
    file: str
    kind: str  # what a careful person decides: one of KINDS ("none": nothing to find)
    told: bool  # for a bounce: whether the user should be told
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    kind: str  # what the message is (`replies.classify`), or "unreadable"
    found: str  # the finding's kind in the scenario, "none" when there was none
    told: bool  # a bounce the user is told of (a notice)
    why: str = ""


def labels() -> list[Label]:
    with LABELS.open(newline="", encoding="utf-8") as file:
        rows = [row for row in csv.reader(file, delimiter="\t") if row and
                not row[0].startswith("#")]
    return [Label(row[0], row[1], row[2] == "yes", row[3] if len(row) > 3 else "")
            for row in rows[1:]]


def fetched(block: bytes) -> bytes:
    """The header fields the watch fetches (BODY.PEEK[HEADER.FIELDS (...)]), as the
    server gives them: every line of those fields, in order, CRLF."""
    wanted = {name.lower().encode() for name in replies.HEADER_FIELDS}
    kept, keep = [], False
    for line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if keep:
                kept.append(line)
            continue
        keep = line.partition(b":")[0].strip().lower() in wanted
        if keep:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept)


def decide_file(name: str) -> Outcome:
    """What the decisions make of one corpus file, in the scenario above."""
    from followup.sources.mailbox.watch import notice_of

    try:
        message = replies.parse(fetched((FOLDER / name).read_bytes()), Folder.INBOX, NOW,
                                ARRIVED)
    except replies.Unreadable as why:
        return Outcome("unreadable", "none", False, str(why))
    employer = Candidate(1, "Acme", "Engineer", datetime(1970, 1, 1, tzinfo=UTC),
                         email=message.sender,
                         domains=(message.sender.rpartition("@")[2],) if message.sender else ())
    known = {ref: (1, "dana@acme.example") for ref in message.references}
    kind = str(replies.classify(message))
    if kind == "reply" and not message.sender:
        kind = "none"  # a person's message from nobody: nothing to find
    found = replies.decide([message], [employer], ("jo@example.org",), known)
    if not found:
        return Outcome(kind, "none", False)
    (finding,) = found
    told = finding.kind is Kind.BOUNCE and notice_of(finding, lambda i: "Acme") is not None
    return Outcome(kind, str(finding.kind), told)
