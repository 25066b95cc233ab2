"""Several daemons on one database: a change log, the daemons, delivery leases.

Revision ID: 0008
Revises: 0006

`changes` is append-only: every write to an interview, its follow-ups or its
nudges adds a row in the same transaction, so a daemon catches up by reading
the rows after the last one it saw instead of every interview. `daemons` says
who delivers what (for `service status`, and for the claim, which leaves a
delivery for each channel another daemon has enabled). `lease_until` is when
a delivery's owner stops holding it unless it renews, on the database's clock.
"""

import sqlalchemy as sa
from alembic import op

from followup.store import UTCDateTime

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("interview_id", sa.Integer, nullable=True),
        sa.Column("made_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "daemons",
        sa.Column("owner", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("place", sa.String(64), nullable=False),
        sa.Column("channels", sa.Text, nullable=False, server_default=""),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.Column("heartbeat", sa.DateTime, nullable=False),
        sa.Column("stopped_at", sa.DateTime, nullable=True),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_until")
    op.drop_table("daemons")
    op.drop_table("changes")
