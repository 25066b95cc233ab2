"""Interview ids never reused; topics, domains, source and heard-via; the meta table.

Revision ID: 0003
Revises: 0002

SQLite reuses the highest rowid after a delete unless the table is declared
AUTOINCREMENT, and a reused id makes a visible notification act on the wrong
interview. Declaring it means recreating the table (the batch mode below);
`store.engine.upgrade` turns foreign keys off around migrations so that
dropping the old table does not cascade into the follow-ups and nudges.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("topics", sa.Text, {"nullable": False, "server_default": ""}),
    ("domains", sa.Text, {"nullable": False, "server_default": ""}),
    ("source", sa.String(16), {"nullable": False, "server_default": "manual"}),
    ("heard_via", sa.String(16), {"nullable": True}),
    ("heard_message", sa.Text, {"nullable": True}),
    ("event_uid", sa.String(1000), {"nullable": True}),
    ("event_recurrence_id", sa.String(100), {"nullable": True}),
    ("zone", sa.String(64), {"nullable": True}),
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite \
        else {}
    with op.batch_alter_table("interviews", **kwargs) as batch:
        for name, kind, options in NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, **options))
    # Interviews marked heard before the mailbox watch were marked by hand.
    op.execute("UPDATE interviews SET heard_via = 'manual' WHERE status = 'heard'")
    op.create_index("ix_interviews_event", "interviews", ["event_uid"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_index("ix_interviews_event", "interviews")
    with op.batch_alter_table("interviews") as batch:
        for name, _, _ in reversed(NEW_COLUMNS):
            batch.drop_column(name)
