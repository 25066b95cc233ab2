"""Notices for channel tests, built from the models with literal values."""

from __future__ import annotations

from datetime import UTC, datetime

from followup.models import Draft, Interview, Notice, Reminder


def reminder(interview_id: int = 7, company: str = "Acme Widgets", number: int = 1,
             of: int = 2) -> Reminder:
    interview = Interview(
        id=interview_id, company=company, role="Backend engineer",
        interview_at=datetime(2030, 3, 4, 14, 30, tzinfo=UTC),
        interviewer="Dana Smith", email="dana@acme.example",
    )
    return Reminder(
        interview=interview, number=number, of=of,
        title=f"Time to follow up with {company}",
        body=f"Follow-up {number} of {of} for Backend engineer at {company} is due.",
        draft=Draft(
            to="dana@acme.example",
            subject="Thank you: Backend engineer interview",
            body="Dear Dana,\n\nthank you for the talk about the API team & its plans.\n\nBest",
        ),
    )


def single(key: str = "7-1", **fields) -> Notice:
    one = reminder(**fields)
    return Notice(key=key, title=one.title, body=one.body, reminders=(one,))


def digest(*reminders: Reminder, key: str = "digest-7-1-8-1") -> Notice:
    return Notice(key=key, title=f"{len(reminders)} follow-ups are due",
                  body="\n".join(r.body for r in reminders), reminders=reminders)
