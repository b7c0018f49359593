"""the console's reads at a million releases: source counts, a stored search vector

Revision ID: 0012
Revises: 0011

``sources.release_count``: the releases stored for the source, which ``sources``, the
console's overview and ``/sources`` show. Counting them on every read grouped a million
releases (hundreds of milliseconds); triggers keep the count as rows are inserted and
deleted (a poll, retention), whoever writes them, so no writer can forget it. On
PostgreSQL one statement-level trigger per statement adds each source's rows at once (a
poll's thousand new rows make one update of its source, not a thousand); SQLite's
triggers are per row, as it has no other kind. The upgrade counts what is stored.

``ix_alerts_channel_status``: the channel list counts every alert by channel and status
from the index alone (it read the table: 250 ms for 200,000 alerts on SQLite).

PostgreSQL: ``releases.search_vector``, ``to_tsvector('simple', search_text)`` stored (a
generated column) with the GIN index on it, in place of the expression index of 0002. An
archive search reads the newest releases first and tests each one's words; with the
expression only, each test tokenised the text again (90 µs a release: 3 s to find 200
NATO releases in 100,000). The upgrade rewrites the table once (about a minute per
100,000 releases on the 2-core machine).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SQLITE = (
    "CREATE TRIGGER releases_count_ai AFTER INSERT ON releases BEGIN "
    "UPDATE sources SET release_count = release_count + 1 WHERE id = new.source_id; END",
    "CREATE TRIGGER releases_count_ad AFTER DELETE ON releases BEGIN "
    "UPDATE sources SET release_count = release_count - 1 WHERE id = old.source_id; END",
)
_POSTGRES = (
    """
    CREATE FUNCTION releases_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE sources s SET release_count = s.release_count + c.n
            FROM (SELECT source_id, count(*) AS n FROM changed GROUP BY source_id) c
            WHERE s.id = c.source_id;
        ELSE
            UPDATE sources s SET release_count = s.release_count - c.n
            FROM (SELECT source_id, count(*) AS n FROM changed GROUP BY source_id) c
            WHERE s.id = c.source_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER releases_count_ai AFTER INSERT ON releases REFERENCING NEW TABLE AS "
    "changed FOR EACH STATEMENT EXECUTE FUNCTION releases_count_change()",
    "CREATE TRIGGER releases_count_ad AFTER DELETE ON releases REFERENCING OLD TABLE AS "
    "changed FOR EACH STATEMENT EXECUTE FUNCTION releases_count_change()",
)


def upgrade() -> None:
    op.add_column(
        "sources",
        sa.Column("release_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_alerts_channel_status", "alerts", ["channel_id", "status"])
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        # no poll may insert between the count and the triggers
        op.execute("LOCK TABLE releases IN SHARE MODE")
    for statement in _SQLITE if sqlite else _POSTGRES:
        op.execute(statement)
    op.execute(
        "UPDATE sources SET release_count = "
        "(SELECT count(*) FROM releases WHERE releases.source_id = sources.id)"
    )
    if not sqlite:
        op.execute(
            "ALTER TABLE releases ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple', coalesce(search_text, ''))) STORED"
        )
        op.execute("CREATE INDEX ix_releases_vector ON releases USING gin (search_vector)")
        op.execute("DROP INDEX ix_releases_search")


def downgrade() -> None:
    op.drop_index("ix_alerts_channel_status", table_name="alerts")
    if not _sqlite():
        op.execute(
            "CREATE INDEX ix_releases_search ON releases "
            "USING gin (to_tsvector('simple', coalesce(search_text, '')))"
        )
        op.execute("DROP INDEX ix_releases_vector")
        op.execute("ALTER TABLE releases DROP COLUMN search_vector")
    op.execute("DROP TRIGGER IF EXISTS releases_count_ai" + ("" if _sqlite() else " ON releases"))
    op.execute("DROP TRIGGER IF EXISTS releases_count_ad" + ("" if _sqlite() else " ON releases"))
    if not _sqlite():
        op.execute("DROP FUNCTION IF EXISTS releases_count_change()")
    op.drop_column("sources", "release_count")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
