"""Delivery states that say what they mean: "failed" becomes "retrying" while a next
attempt is planned, and "gave up" when none is (final: no scan takes it up again).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE deliveries SET status = 'gave up' "
               "WHERE status = 'failed' AND next_attempt_at IS NULL")
    op.execute("UPDATE deliveries SET status = 'retrying' WHERE status = 'failed'")


def downgrade() -> None:
    op.execute("UPDATE deliveries SET status = 'failed' "
               "WHERE status IN ('retrying', 'gave up', 'cancelled')")
