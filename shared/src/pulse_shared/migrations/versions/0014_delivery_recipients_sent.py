"""report_deliveries.sent_to: the recipients a delivery's report has gone to, each recorded
as the mail server accepts it, so that an attempt after a failure partway through the
list (or after a replica died) sends only to those still owed one.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "report_deliveries",
        sa.Column("sent_to", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    op.drop_column("report_deliveries", "sent_to")
