"""an alarm notice is leased while it is sent, and marked notified only once sent

Revision ID: 0007
Revises: 0006

``alarms.notice_lease_until``: a notice (raised or recovered) was claimed by setting its
``notified_at`` before it was sent, so a crash between the two lost it. The claim is now a
lease; ``notified_at`` / ``recovery_notified_at`` are set after the send, and a notice
whose lease ran out (its sender died) is sent again, under the same id.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "alarms", sa.Column("notice_lease_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("alarms", "notice_lease_until")  # SQLite >= 3.35 drops it in place
