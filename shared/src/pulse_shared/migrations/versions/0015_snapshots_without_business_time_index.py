"""post_metric_snapshots loses its (business_id, observed_at) index: nothing reads
snapshots by business and time (a post's history is read by its key, the primary key;
the activity rebuild by business, the key's prefix), and every stored snapshot paid for
it, a second index entry per row on the aggregator's hottest insert.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_post_metric_snapshots_business_id_observed_at"


def upgrade() -> None:
    # On the partitioned table: the partitions' indexes go with it.
    op.drop_index(INDEX, table_name="post_metric_snapshots")


def downgrade() -> None:
    op.create_index(INDEX, "post_metric_snapshots", ["business_id", "observed_at"])
