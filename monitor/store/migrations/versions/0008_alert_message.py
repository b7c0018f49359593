"""the message that carried an alert: one message per story on the channels people read

Revision ID: 0008
Revises: 0007

``alerts.message_id``: on email, chat and the log, the alerts of one story that fall due
together leave as one message, so ``max_per_hour`` (messages in any hour) counts distinct
message ids, not alerts. NULL for alerts sent before: each counts as its own message.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("message_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    op.drop_column("alerts", "message_id")  # SQLite >= 3.35 drops it in place
