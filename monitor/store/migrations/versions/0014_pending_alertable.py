"""the match step takes the releases that may alert first

Revision ID: 0014
Revises: 0013

- ``ix_releases_pending_alertable``: a partial index on ``releases(id)`` holding only the
  pending releases that may alert (not baselines, not polled with ``--no-alerts``). The
  match step takes them before the others (issue 23: a new deployment's backlog of
  baseline releases held every new alert back for half an hour on PostgreSQL); without
  it, finding the few of them read every pending baseline release, at every batch.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PENDING = "matched_hash IS NULL OR matched_hash != content_hash"


def upgrade() -> None:
    op.create_index(
        "ix_releases_pending_alertable",
        "releases",
        ["id"],
        sqlite_where=sa.text(f"({PENDING}) AND alertable = 1"),
        postgresql_where=sa.text(f"({PENDING}) AND alertable"),
    )


def downgrade() -> None:
    op.drop_index("ix_releases_pending_alertable", table_name="releases")
