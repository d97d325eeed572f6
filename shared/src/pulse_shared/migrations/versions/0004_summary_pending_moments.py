"""A durable queue of the moments whose summaries must be recomputed.

A batch records what it touched here, in its own transaction; the summary refresh takes
the moments out and recomputes their periods in a later transaction. Under load many
batches share one refresh (the summary work grows with the periods touched, not with
the events), and a crash between the two loses nothing: the moments are still here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_pending_moments",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_summary_pending_moments_business_id", "summary_pending_moments", ["business_id"]
    )
    # Data written before summaries were maintained: queue all of it, and the aggregator
    # computes every period once it starts (a no-op on an empty database).
    op.execute(
        """
        INSERT INTO summary_pending_moments (business_id, platform, at)
        SELECT business_id, platform, published_at FROM published_posts
        UNION
        SELECT business_id, platform, observed_at FROM account_snapshots
        """
    )


def downgrade() -> None:
    op.drop_table("summary_pending_moments")
