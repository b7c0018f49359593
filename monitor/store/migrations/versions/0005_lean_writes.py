"""story founders; superseded versions only in release_revisions; one story_bands index less

Revision ID: 0005
Revises: 0004

- ``stories.founder_release_id``: the release that founded the story, supplied by the match
  step, so that a batch of new stories is inserted in one statement and each id is matched
  to its founder through ``RETURNING id, founder_release_id`` (row order does not matter).
  Unique; NULL for the stories made before this revision, and once retention prunes the
  founder (SQLite may give a pruned id to a new release). No foreign key, so the column is
  added and dropped in place (``ALTER TABLE``) on SQLite too: rebuilding ``stories`` in
  batch mode would drop a table that releases refer to.
- ``release_revisions`` keeps the superseded versions only; the current one lives in
  ``releases``. The copies of current versions made until now are deleted (downgrade puts
  them back).
- ``ix_story_bands_first_seen_at`` goes: the candidate query finds bands by key (primary
  key) and checks their age on the row; nothing looks bands up by age.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stories", sa.Column("founder_release_id", sa.Integer(), nullable=True))
    op.create_index("uq_stories_founder", "stories", ["founder_release_id"], unique=True)
    op.execute(
        "DELETE FROM release_revisions WHERE EXISTS (SELECT 1 FROM releases"
        " WHERE releases.id = release_revisions.release_id"
        " AND releases.revision = release_revisions.revision"
        " AND releases.content_hash = release_revisions.content_hash)"
    )
    op.drop_index("ix_story_bands_first_seen_at", table_name="story_bands")


def downgrade() -> None:
    op.create_index("ix_story_bands_first_seen_at", "story_bands", ["first_seen_at"])
    op.execute(
        "INSERT INTO release_revisions"
        " (release_id, revision, title, summary, content, content_hash, seen_at)"
        " SELECT id, revision, title, summary, content, content_hash, updated_at FROM releases"
        " WHERE NOT EXISTS (SELECT 1 FROM release_revisions r"
        " WHERE r.release_id = releases.id AND r.revision = releases.revision)"
    )
    op.drop_index("uq_stories_founder", table_name="stories")
    op.drop_column("stories", "founder_release_id")  # SQLite >= 3.35 drops it in place
