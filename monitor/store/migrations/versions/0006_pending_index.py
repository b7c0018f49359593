"""the match step's queue indexed; one redundant matches index less

Revision ID: 0006
Revises: 0005

- ``ix_releases_pending``: a partial index on ``releases(id)`` holding only the releases
  the match step has yet to match (``matched_hash`` NULL or not the current
  ``content_hash``). ``match_pending`` looks for them at the end of every ``monitor poll``
  and at daemon start; without it that is a scan of the whole table (60 ms for 8,000
  releases), with it a look at an index that is empty when nothing is pending.
- ``ix_matches_rule_id`` goes: ``uq_matches_rule_release (rule_id, release_id)`` serves
  every lookup by rule, and each match paid for the second index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = "matched_hash IS NULL OR matched_hash != content_hash"


def upgrade() -> None:
    op.create_index(
        "ix_releases_pending",
        "releases",
        ["id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    op.drop_index("ix_matches_rule_id", table_name="matches")


def downgrade() -> None:
    op.create_index("ix_matches_rule_id", "matches", ["rule_id"])
    op.drop_index("ix_releases_pending", table_name="releases")
