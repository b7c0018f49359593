"""rules and sources made in the console, rule mutes, the config generation

Revision ID: 0013
Revises: 0012

``console_items``: a rule or a source made in the console or the API (``origin: console``),
its ``body`` the mapping the config file would hold (JSON). ``version`` is the optimistic
concurrency check: an update names the version it read, and loses (409) when another
writer got there first. ``rule_mutes``: a rule muted until a time; it still matches and
records, and its alerts are recorded as muted, never sent. ``config_generation``: one row,
raised in the transaction of every change of ``console_items``; every instance polls it
and rebuilds its rules and sources when it moved (``monitor.console_config``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "console_items",
        sa.Column("kind", sa.String(length=10), primary_key=True),  # rule | source
        sa.Column("id", sa.String(length=100), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
    )
    op.create_table(
        "rule_mutes",
        sa.Column("rule_id", sa.String(length=100), primary_key=True),
        _ts("until"),
        sa.Column("muted_by", sa.String(length=100), nullable=False),
        _ts("muted_at"),
    )
    generation = op.create_table(
        "config_generation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        _ts("changed_at", nullable=True),
    )
    op.bulk_insert(generation, [{"id": 1, "generation": 0, "changed_at": None}])


def downgrade() -> None:
    op.drop_table("config_generation")
    op.drop_table("rule_mutes")
    op.drop_table("console_items")
