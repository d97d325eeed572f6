"""published_posts.thumbnail_url: the post's preview image, as discovery finds it on the
platform (posts.published.v1's optional ``thumbnail_url``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("published_posts", sa.Column("thumbnail_url", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("published_posts", "thumbnail_url")
