"""The mailbox watch: per-folder scan state, and the messages already dealt with.

Revision ID: 0006
Revises: 0004

`mailbox_folders` keeps, per account and folder, the UIDVALIDITY and the last
UID read, so a scan reads only new messages. `mailbox_messages` remembers each
message that changed something or was reported (by Message-ID, unique): a
follow-up is recorded once per Message-ID, forever, however often it is seen.
Only what was matched is kept: Message-ID, date, sender, recipient, subject.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_folders",
        sa.Column("account", sa.String(1000), primary_key=True),
        sa.Column("folder", sa.String(1000), primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("scanned_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "mailbox_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(1000), nullable=False),
        sa.Column("interview_id", sa.Integer,
                  sa.ForeignKey("interviews.id", ondelete="SET NULL"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("date", sa.DateTime, nullable=False),
        sa.Column("sender", sa.String(1000), nullable=False, server_default=""),
        sa.Column("recipient", sa.String(1000), nullable=False, server_default=""),
        sa.Column("subject", sa.String(2000), nullable=False, server_default=""),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("message_id", name="uq_mailbox_message_id"),
    )
    op.create_index("ix_mailbox_messages_interview", "mailbox_messages", ["interview_id"])


def downgrade() -> None:
    op.drop_index("ix_mailbox_messages_interview", "mailbox_messages")
    op.drop_table("mailbox_messages")
    op.drop_table("mailbox_folders")
