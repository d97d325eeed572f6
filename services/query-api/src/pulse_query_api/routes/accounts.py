"""GET /api/v1/analytics/accounts: the business's connected accounts and how their sync
goes (from the account_connections view, which holds no token)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from pulse_query_api.deps import EngineDep
from pulse_query_api.routes.overview import ERRORS
from pulse_query_api.schemas import AccountOut, AccountsOut
from pulse_query_api.scope import CallerBusinessDep
from pulse_query_api.tenancy import business_session

router = APIRouter(prefix="/api/v1/analytics", tags=["accounts"])

# Each account with the posts it has announced that have numbers yet (removed ones out).
ACCOUNTS_WITH_PROGRESS = text(
    """
    SELECT c.platform, c.account_id, c.display_name, c.status, c.status_reason,
           c.posts_found, c.last_synced_at, c.connected_at,
           count(a.post_id) AS posts_with_numbers
    FROM account_connections c
    LEFT JOIN published_posts p
      ON p.business_id = c.business_id AND p.platform = c.platform
     AND p.account_id = c.account_id AND p.removed_at IS NULL
    LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
    WHERE c.business_id = :business_id
    GROUP BY c.platform, c.account_id, c.display_name, c.status, c.status_reason,
             c.posts_found, c.last_synced_at, c.connected_at
    ORDER BY c.platform, c.display_name, c.account_id
    """
)


@router.get(
    "/accounts",
    response_model=AccountsOut,
    summary="The business's connected accounts: status, posts found, last synced",
    description=(
        "`syncing`: connected, its past posts being found (`posts_found` grows, "
        "`posts_with_numbers` follows as they are polled); `active`: polled, new posts "
        "found every hour; `needs_reconnection`: the platform refused its token for good "
        "(polling stopped, history kept: connect it again); `disconnected`: its tokens "
        "deleted, its numbers kept."
    ),
    responses=ERRORS,  # type: ignore[arg-type]
)
async def accounts(business: CallerBusinessDep, engine: EngineDep) -> AccountsOut:
    async with business_session(engine, business.business_id) as session:
        rows = (
            await session.execute(ACCOUNTS_WITH_PROGRESS, {"business_id": business.business_id})
        ).mappings()
        found = [AccountOut(**row) for row in rows]
    return AccountsOut(business_id=business.business_id, timezone=business.timezone, accounts=found)
