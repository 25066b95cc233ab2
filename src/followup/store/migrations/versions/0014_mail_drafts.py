"""The drafts followup put into the mailbox's Drafts folder.

Revision ID: 0014
Revises: 0008

One row per draft that followup may still remove: where it is (account,
folder, UIDVALIDITY, UID) and how to know it is still as written (its
Message-ID and size). The row goes when the draft was removed, or was found
edited or moved (never touched then). `interview_id` has no foreign key: a
removed interview's draft must still be found to be removed.
"""

import sqlalchemy as sa
from alembic import op

from followup.store import UTCDateTime

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_drafts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("interview_id", sa.Integer, nullable=False),
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


def downgrade() -> None:
    op.drop_table("mail_drafts")
