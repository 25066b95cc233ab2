"""The stored plan: each waiting interview's next nudge, the rules' cache.

Revision ID: 0012
Revises: 0008

One row per interview that has a next nudge, with what `rules.planned_nudge`
says (the part that does not depend on now), indexed by fire time and by when
it goes stale, so `due`, `list` and the daemon's scans read a range instead of
every interview. It starts empty: the first process that reads it computes it
under its settings (see store.plan).
"""

import sqlalchemy as sa
from alembic import op

from followup.store import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("interview_id", sa.Integer,
                  sa.ForeignKey("interviews.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("opens_at", UTCDateTime, nullable=False),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("fire_at", UTCDateTime, nullable=True),
        sa.Column("stale_after", UTCDateTime, nullable=True),
        sa.Column("again", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_plan_fire_at", "plan", ["fire_at"])
    op.create_index("ix_plan_stale_after", "plan", ["stale_after"])


def downgrade() -> None:
    op.execute("DELETE FROM meta WHERE key IN ('plan_policy', 'plan_fingerprint')")
    op.drop_table("plan")
