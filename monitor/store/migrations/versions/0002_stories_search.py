"""story bands and the full-text index

Revision ID: 0002
Revises: 0001

``story_bands`` holds each release's LSH band keys, through which copies find each other.
``releases.search_text`` holds the normalised words of title, summary and content; SQLite
indexes it with FTS5 (kept in step by triggers), PostgreSQL with a GIN tsvector index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_bands",
        sa.Column("band_key", sa.String(length=64), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"]),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"]),
        sa.PrimaryKeyConstraint("band_key", "release_id"),
    )
    with op.batch_alter_table("story_bands") as batch_op:
        batch_op.create_index("ix_story_bands_first_seen_at", ["first_seen_at"])
        batch_op.create_index("ix_story_bands_release_id", ["release_id"])
        batch_op.create_index("ix_story_bands_story_id", ["story_id"])
    op.add_column("releases", sa.Column("search_text", sa.Text(), nullable=True))
    op.add_column("releases", sa.Column("story_bands", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE releases_fts USING fts5("
            "search_text, content='releases', content_rowid='id', tokenize='unicode61')"
        )
        op.execute(
            "CREATE TRIGGER releases_fts_ai AFTER INSERT ON releases BEGIN "
            "INSERT INTO releases_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER releases_fts_ad AFTER DELETE ON releases BEGIN "
            "INSERT INTO releases_fts(releases_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER releases_fts_au AFTER UPDATE OF search_text ON releases BEGIN "
            "INSERT INTO releases_fts(releases_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO releases_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    else:
        op.execute(
            "CREATE INDEX ix_releases_search ON releases "
            "USING gin (to_tsvector('simple', coalesce(search_text, '')))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("releases_fts_ai", "releases_fts_ad", "releases_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS releases_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_releases_search")
    with op.batch_alter_table("releases") as batch_op:
        batch_op.drop_column("search_text")
        batch_op.drop_column("story_bands")
    op.drop_table("story_bands")
