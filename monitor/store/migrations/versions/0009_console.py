"""the console: people, sessions, API tokens, sign-in throttling, the audit log; listing indexes

Revision ID: 0009
Revises: 0008

New tables: ``users``, ``console_sessions``, ``api_tokens``, ``sign_in_failures`` and
``audit_log`` (``monitor.store.people``, ``monitor.store.audit``).

Indexes for the console's keyset listings, so a deep page costs what the first does:
``ix_releases_seen (first_seen_at, id)`` and ``ix_releases_source_seen (source_id,
first_seen_at, id)`` replace ``ix_releases_first_seen`` and ``ix_releases_source_id``, of
which they are extensions (no more indexes to keep up on insert than before);
``ix_alerts_created (created_at, id)`` orders the delivery log, ``ix_alerts_story`` finds a
story's alerts, ``ix_matches_matched`` the latest matches.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        _ts("created_at"),
        _ts("expires_at"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        _ts("created_at"),
        _ts("last_used_at", nullable=True),
        sa.UniqueConstraint("name", name="uq_api_tokens_name"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        _ts("at"),
        _ts("locks_until", nullable=True),
    )
    op.create_index("ix_sign_in_failures_name", "sign_in_failures", ["name", "at"])
    op.create_index("ix_sign_in_failures_address", "sign_in_failures", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        _ts("at"),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_audit_at", "audit_log", ["at", "id"])

    op.create_index("ix_releases_seen", "releases", ["first_seen_at", "id"])
    op.drop_index("ix_releases_first_seen", table_name="releases")
    op.create_index("ix_releases_source_seen", "releases", ["source_id", "first_seen_at", "id"])
    op.drop_index("ix_releases_source_id", table_name="releases")
    op.create_index("ix_alerts_created", "alerts", ["created_at", "id"])
    op.create_index("ix_alerts_story", "alerts", ["story_id"])
    op.create_index("ix_matches_matched", "matches", ["matched_at"])


def downgrade() -> None:
    op.drop_index("ix_matches_matched", table_name="matches")
    op.drop_index("ix_alerts_story", table_name="alerts")
    op.drop_index("ix_alerts_created", table_name="alerts")
    op.create_index("ix_releases_source_id", "releases", ["source_id"])
    op.drop_index("ix_releases_source_seen", table_name="releases")
    op.create_index("ix_releases_first_seen", "releases", ["first_seen_at"])
    op.drop_index("ix_releases_seen", table_name="releases")
    op.drop_table("audit_log")
    op.drop_table("sign_in_failures")
    op.drop_table("api_tokens")
    op.drop_table("console_sessions")
    op.drop_table("users")
