"""a match's total of hits, beside the first ones it keeps

Revision ID: 0011
Revises: 0007

``matches.hits`` keeps the first hits of a (release, rule) (the matcher keeps 100) as the
JSON list it always was, so older code reads it unchanged; ``matches.hit_count`` says how
many there are in all (NULL in rows written before: as many as the list holds).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matches", sa.Column("hit_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("matches", "hit_count")  # SQLite >= 3.35 drops it in place
