"""Interviews, the follow-ups sent, the nudges claimed and their deliveries.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from followup.store import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("company", sa.String(1000), nullable=False),
        sa.Column("role", sa.String(1000), nullable=False),
        sa.Column("interviewer", sa.String(1000), nullable=False, server_default=""),
        sa.Column("email", sa.String(1000), nullable=False, server_default=""),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("interview_at", UTCDateTime, nullable=False),
        sa.Column("reply_by", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="waiting"),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("snoozed_until", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("interview_id", sa.Integer,
                  sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("note", sa.String(1000), nullable=False, server_default=""),
        sa.UniqueConstraint("interview_id", "number", name="uq_followup_number"),
    )
    op.create_table(
        "nudges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("interview_id", sa.Integer,
                  sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("opens_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("interview_id", "number", name="uq_nudge_number"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("nudge_id", sa.Integer,
                  sa.ForeignKey("nudges.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("next_attempt_at", UTCDateTime, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.UniqueConstraint("nudge_id", "channel", name="uq_delivery_channel"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("nudges")
    op.drop_table("followups")
    op.drop_table("interviews")
