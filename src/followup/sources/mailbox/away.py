"""Out-of-office replies in a mailbox pass: the one place the watch reads beyond the
header fields, and only for an auto-reply from an employer's address of a waiting
interview whose subject names no return date. It fetches that message's
Content-Type and Content-Transfer-Encoding and the first 8 KB of its text
(BODY.PEEK: flags stay as they were), finds the date (`returns.return_date`), and
keeps nothing else: the text is never stored. Blocking: run it in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta

from followup import rules
from followup.models import Policy
from followup.sources.mailbox.replies import Finding, Message
from followup.sources.mailbox.returns import TEXT_BYTES, dated, readable

log = logging.getLogger("followup")

HEAD = b"BODY.PEEK[HEADER.FIELDS (CONTENT-TYPE CONTENT-TRANSFER-ENCODING)]"
TEXT = b"BODY.PEEK[TEXT]<0.%d>" % TEXT_BYTES
HEAD_KEY, TEXT_KEY = b"BODY[HEADER.FIELDS (CONTENT-TYPE CONTENT-TRANSFER-ENCODING)]", \
    b"BODY[TEXT]<0>"

Place = tuple[str, int]  # (folder, UID)


def with_return_dates(findings: list[Finding], client, places: Mapping[str, Place],
                      from_employer: Callable[[Finding], bool], now: datetime
                      ) -> list[Finding]:
    """The findings, each auto-reply from an employer given its `returns_on`."""
    def read(message: Message) -> str | None:
        place = places.get(message.message_id)
        return None if place is None else text_of(client, *place)

    return dated(findings, read, now, from_employer)


def text_of(client, folder: str, uid: int) -> str | None:
    """The first 8 KB of one message's text as plain text; None when it cannot be read
    (the message is skipped: a date is never guessed)."""
    try:
        client.select_folder(folder, readonly=True)  # EXAMINE
        found = client.fetch([uid], [HEAD, TEXT]).get(uid, {})
        head = found.get(HEAD_KEY, b"")
        body = next((v for k, v in found.items() if k.startswith(b"BODY[TEXT]")), b"")
        return readable(head or b"", (body or b"")[:TEXT_BYTES])
    except Exception as error:  # a broken message or answer is skipped, never the pass
        log.debug("could not read the text of UID %d in %s: %s", uid, folder, error)
        return None


def back_at(returns_on: date, policy: Policy) -> datetime | None:
    """The first working hour of the working day after `returns_on` (UTC), or None."""
    day_after = datetime.combine(returns_on + timedelta(days=1), time(0), policy.zone)
    return rules.first_working_instant(day_after, policy)


def notice(company: str, returns_on: date, sender: str) -> tuple[str, str]:
    """The notice of a nudge moved by an out-of-office reply: (title, body)."""
    day = f"{returns_on:%a} {returns_on.day} {returns_on:%b %Y}"
    return (f"{company} is away until {day}",
            f"From {sender}: the next nudge waits for the working day after "
            f"{day}.\n(`followup snooze ID 0` brings it back)")
