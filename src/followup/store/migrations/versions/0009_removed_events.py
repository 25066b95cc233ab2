"""Calendar events whose interview the user removed: importing them again skips them.

Revision ID: 0009
Revises: 0008

`followup rm` of an interview imported from a calendar remembers its event
(UID, and RECURRENCE-ID or "" for a one-off), in the same transaction as the
delete, so the next import of that calendar (file, feed or CalDAV) says
"skipped (removed by you)" instead of bringing the interview back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "removed_events",
        sa.Column("event_uid", sa.String(1000), primary_key=True),
        sa.Column("event_recurrence_id", sa.String(100), primary_key=True, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("removed_events")
