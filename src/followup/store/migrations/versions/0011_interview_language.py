"""The drafts' language of an interview.

Revision ID: 0011
Revises: 0008

NULL means the `[me] language` of the configuration, so existing interviews
keep following it. Interviews imported from an event whose title named no
role were given the role "open" ("Thank you - open interview"); a draft
without a role now names none, so that placeholder becomes empty (the next
import would otherwise report each of them as updated).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
    op.execute("UPDATE interviews SET role = '' WHERE source = 'calendar' AND role = 'open'")


def downgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("language")
