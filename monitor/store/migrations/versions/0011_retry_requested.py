"""an operator's retry makes a channel that backs off try again at once

Revision ID: 0011
Revises: 0010

``alerts.retry_requested_at``: set by ``alerts retry`` and the console's Retry, cleared by
the next attempt. A channel whose breaker is open (``notify.breaker``: several failed
attempts in a row, so nothing is tried until a probe time up to ``retry.max`` away) probes
at once when one of its alerts carries a request newer than the breaker's opening, so an
operator who fixed a receiver does not wait an hour. The partial index holds only the
requests not yet attempted.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_WHERE = sa.text("retry_requested_at IS NOT NULL")


def upgrade() -> None:
    op.add_column(
        "alerts", sa.Column("retry_requested_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_alerts_retry_requested",
        "alerts",
        ["channel_id", "retry_requested_at"],
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_retry_requested", table_name="alerts")
    op.drop_column("alerts", "retry_requested_at")  # SQLite >= 3.35 drops it in place
