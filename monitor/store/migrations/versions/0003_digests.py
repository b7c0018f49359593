"""digests: durable batches of alerts (digest channels and rate-limit summaries)

Revision ID: 0003
Revises: 0002

``digests`` holds one row per batched message: a channel's periodic digest or a rate-limit
summary. It has the outbox's columns (status, attempts, lease...) because it is delivered,
retried and leased exactly like an alert. ``alerts.digest_id`` assigns an alert to the
digest that carries it; it is set in the same transaction that creates the digest.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("channel_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_digests_due", "digests", ["channel_id", "status", "next_attempt_at"])
    op.create_index("ix_digests_sent", "digests", ["channel_id", "sent_at"])
    op.add_column("alerts", sa.Column("digest_id", sa.String(length=40), nullable=True))
    op.create_index("ix_alerts_digest_id", "alerts", ["digest_id"])
    op.create_index("ix_alerts_channel_sent", "alerts", ["channel_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_channel_sent", table_name="alerts")
    op.drop_index("ix_alerts_digest_id", table_name="alerts")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("digest_id")
    op.drop_index("ix_digests_sent", table_name="digests")
    op.drop_index("ix_digests_due", table_name="digests")
    op.drop_table("digests")
