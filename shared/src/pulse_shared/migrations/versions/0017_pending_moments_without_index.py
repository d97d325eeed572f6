"""summary_pending_moments loses its index on business_id: every batch appends thousands
of moments to the queue and the refresh takes them all at once, and nothing looks a
business's moments up by it, so the index was only kept up (half the queue's write cost).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_summary_pending_moments_business_id", "summary_pending_moments")


def downgrade() -> None:
    op.create_index(
        "ix_summary_pending_moments_business_id", "summary_pending_moments", ["business_id"]
    )
