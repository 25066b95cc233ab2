"""Exactly once: an attempt token per delivery, and each destination's result.

Revision ID: 0010
Revises: 0008

`attempt` is the token of the attempt that holds a delivery (written when it is
claimed or taken over, NULL between attempts); the lease is renewed and the
result recorded only where it still holds that token, so a late or second
attempt can never record over another. `destinations` is a JSON object of the
destinations (Apprise's URLs) a channel with several has already delivered to,
so that a retry goes only to the others.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("attempt", sa.String(32), nullable=True))
        batch.add_column(sa.Column("destinations", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("destinations")
        batch.drop_column("attempt")
