"""a match's total of hits; a flood notice addressed to one channel

Revision ID: 0010
Revises: 0009

``matches.hits`` keeps the first hits of a (release, rule) (the matcher keeps 100) as the
JSON list it always was, so older code reads it unchanged; ``matches.hit_count`` says how
many there are in all (NULL in rows written before: as many as the list holds).

``alarms.channel_id``: a notice for one channel. The flood guard writes one alarm row per
channel of the rules that watch the flooded source, each leased and marked sent on its
own, so a channel that took its notice never gets it again. NULL: the config's
``alarm_channels``, as every episode before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("matches", sa.Column("hit_count", sa.Integer(), nullable=True))
    op.add_column("alarms", sa.Column("channel_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # flood rows are written closed and "recovered": older code never sends them
    op.drop_column("alarms", "channel_id")  # SQLite >= 3.35 drops it in place
    op.drop_column("matches", "hit_count")
