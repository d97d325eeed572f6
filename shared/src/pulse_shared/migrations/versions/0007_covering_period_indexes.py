"""The period indexes of published_posts cover what the period queries read of a post.

Every aggregate answer of query-api starts from "this business's posts published in the
period" and joins post_analytics by (business_id, id). With the period indexes holding
only their keys, PostgreSQL visited one heap page per post (a business's posts are spread
over the table among every other business's), about 20 ms of the 50 ms best-times query
for 10,000 posts. With id, platform and content_type included the posts come from an
index-only scan (published_posts is insert-only, so its pages stay all-visible): 2 ms.

Built concurrently, then swapped in under the old names: writers are never blocked.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name -> (key columns, included columns), as this revision leaves them.
COVERING = {
    "ix_published_posts_business_id_published_at": (
        "business_id, published_at",
        "id, platform, content_type",
    ),
    "ix_published_posts_business_id_platform_published_at": (
        "business_id, platform, published_at",
        "id, content_type",
    ),
}


def _swap(name: str, keys: str, include: str | None) -> None:
    covering = f" INCLUDE ({include})" if include else ""
    op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}_new")  # a failed earlier try
    op.execute(f"CREATE INDEX CONCURRENTLY {name}_new ON published_posts ({keys}){covering}")
    op.execute(f"DROP INDEX CONCURRENTLY {name}")
    op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (keys, include) in COVERING.items():
            _swap(name, keys, include)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, (keys, _) in COVERING.items():
            _swap(name, keys, None)
