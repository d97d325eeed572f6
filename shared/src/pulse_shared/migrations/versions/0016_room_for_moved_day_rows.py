"""analytics_summaries and activity_daily leave room on each page (fillfactor 80): every
batch now moves its days' rows in place (issue 19), thousands of updates per batch, and a
row's new version fits beside the old one only where the page has room. There it is a
heap-only update, with no new entry in the primary key's index.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("analytics_summaries", "activity_daily")


def upgrade() -> None:
    # Pages written from now on keep the room; existing ones gain it as rows move.
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
