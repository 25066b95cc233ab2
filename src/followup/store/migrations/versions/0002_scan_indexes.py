"""Indexes for the daemon's scans: waiting interviews, deliveries still to retry.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_interviews_status", "interviews", ["status"])
    op.create_index("ix_deliveries_status", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_nudges_fired_at", "nudges", ["fired_at"])


def downgrade() -> None:
    op.drop_index("ix_nudges_fired_at", "nudges")
    op.drop_index("ix_deliveries_status", "deliveries")
    op.drop_index("ix_interviews_status", "interviews")
