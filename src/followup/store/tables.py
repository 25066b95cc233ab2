"""The tables, as SQLAlchemy Core sees them. Migrations create them; keep the two in step."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from followup.models import Interview


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

interviews = sa.Table(
    "interviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("company", sa.String(1000), nullable=False),
    sa.Column("role", sa.String(1000), nullable=False),
    sa.Column("interviewer", sa.String(1000), nullable=False, server_default=""),
    sa.Column("email", sa.String(1000), nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("interview_at", UTCDateTime, nullable=False),
    sa.Column("reply_by", sa.Date, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="waiting", index=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("snoozed_until", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("topics", sa.Text, nullable=False, server_default=""),
    sa.Column("domains", sa.Text, nullable=False, server_default=""),  # space-separated
    sa.Column("source", sa.String(16), nullable=False, server_default="manual"),
    sa.Column("heard_via", sa.String(16), nullable=True),
    sa.Column("heard_message", sa.Text, nullable=True),
    sa.Column("event_uid", sa.String(1000), nullable=True),
    sa.Column("event_recurrence_id", sa.String(100), nullable=True),
    sa.Column("zone", sa.String(64), nullable=True),
    sa.Column("language", sa.String(8), nullable=True),  # None: the [me] language
    sa.Index("ix_interviews_event", "event_uid"),
    sqlite_autoincrement=True,  # ids are never reused
)

# Facts about the database itself: `installation_id` (random, made on first open),
# `zone` (the time zone the database was last written in).
meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

followups = sa.Table(
    "followups", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("note", sa.String(1000), nullable=False, server_default=""),
    sa.UniqueConstraint("interview_id", "number", name="uq_followup_number"),
)

nudges = sa.Table(
    "nudges", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("opens_at", UTCDateTime, nullable=False),
    sa.Column("fired_at", UTCDateTime, nullable=False, index=True),
    # The claim: one nudge per interview and number, whichever daemon gets there first.
    sa.UniqueConstraint("interview_id", "number", name="uq_nudge_number"),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("nudge_id", sa.Integer, sa.ForeignKey("nudges.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    # The daemon process delivering it right now; NULL between attempts.
    sa.Column("owner", sa.String(200), nullable=True),
    # Until when the owner holds it, on the database's clock (see store.dbtime); another
    # daemon takes it over after that. Naive UTC, written only by SQL expressions.
    sa.Column("lease_until", sa.DateTime, nullable=True),
    # The token of the attempt holding it (claim or take-over; NULL between attempts):
    # leases are renewed and results recorded only against it (migration 0010).
    sa.Column("attempt", sa.String(32), nullable=True),
    # JSON: the destinations (Apprise's URLs) already delivered to, by a channel with several.
    sa.Column("destinations", sa.Text, nullable=True),
    sa.UniqueConstraint("nudge_id", "channel", name="uq_delivery_channel"),
    sa.Index("ix_deliveries_status", "status", "next_attempt_at"),
)

# The mailbox watch (migration 0006): per account and folder, where the last scan
# stopped; and each message that changed something or was reported, once per Message-ID.
mailbox_folders = sa.Table(
    "mailbox_folders", metadata,
    sa.Column("account", sa.String(1000), primary_key=True),
    sa.Column("folder", sa.String(1000), primary_key=True),
    sa.Column("uidvalidity", sa.BigInteger, nullable=False),
    sa.Column("last_uid", sa.BigInteger, nullable=False),
    sa.Column("scanned_at", UTCDateTime, nullable=False),
)

# Calendar events whose interview the user removed (`rm`): never imported again.
# `event_recurrence_id` is "" for a one-off event.
removed_events = sa.Table(
    "removed_events", metadata,
    sa.Column("event_uid", sa.String(1000), primary_key=True),
    sa.Column("event_recurrence_id", sa.String(100), primary_key=True, server_default=""),
)

mailbox_messages = sa.Table(
    "mailbox_messages", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(1000), nullable=False),
    sa.Column("interview_id", sa.Integer,
              sa.ForeignKey("interviews.id", ondelete="SET NULL"), nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("date", UTCDateTime, nullable=False),
    sa.Column("sender", sa.String(1000), nullable=False, server_default=""),
    sa.Column("recipient", sa.String(1000), nullable=False, server_default=""),
    sa.Column("subject", sa.String(2000), nullable=False, server_default=""),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("message_id", name="uq_mailbox_message_id"),
    sa.Index("ix_mailbox_messages_interview", "interview_id"),
)

# The drafts followup put into the Drafts folder and may still remove (migration 0014).
mail_drafts = sa.Table(
    "mail_drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.Integer, nullable=False),  # no FK: outlives `rm`
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("account", sa.String(1000), nullable=False),
    sa.Column("folder", sa.String(1000), nullable=False),
    sa.Column("uidvalidity", sa.BigInteger, nullable=False),
    sa.Column("uid", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.String(1000), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("made_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("message_id", name="uq_mail_draft_message_id"),
    sa.Index("ix_mail_drafts_interview", "interview_id"),
)

# Append-only: one row per write to an interview or its history, in the same transaction
# (see store.changes). `interview_id` NULL: look at everything.
changes = sa.Table(
    "changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("interview_id", sa.Integer, nullable=True),
    sa.Column("made_at", sa.DateTime, nullable=False),  # database clock, naive UTC
    sqlite_autoincrement=True,
)

# The daemons using this database, one row per process (see store.daemons).
daemons = sa.Table(
    "daemons", metadata,
    sa.Column("owner", sa.String(200), primary_key=True),  # host/pid/start
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("place", sa.String(64), nullable=False),  # host + configuration, hashed
    sa.Column("channels", sa.Text, nullable=False, server_default=""),  # space-separated
    sa.Column("since", UTCDateTime, nullable=False),
    sa.Column("heartbeat", sa.DateTime, nullable=False),  # database clock, naive UTC
    sa.Column("stopped_at", sa.DateTime, nullable=True),
)

# The stored plan (migration 0012, see store.plan): each waiting interview's next nudge
# as far as it does not depend on now, the rules' cache; `fire_at` NULL when no working
# instant comes within two years of `not_before`, `stale_after` NULL for a nudge again.
plan = sa.Table(
    "plan", metadata,
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"),
              primary_key=True, autoincrement=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("opens_at", UTCDateTime, nullable=False),
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("fire_at", UTCDateTime, nullable=True),
    sa.Column("stale_after", UTCDateTime, nullable=True),
    sa.Column("again", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_plan_fire_at", "fire_at"),
    sa.Index("ix_plan_stale_after", "stale_after"),
)

INTERVIEW_FIELDS = tuple(f.name for f in fields(Interview) if f.name != "id")


def interview_values(values: dict) -> dict:
    """Interview fields as the table stores them (domains as one string)."""
    if "domains" in values:
        values = {**values, "domains": " ".join(values["domains"])}
    return values
