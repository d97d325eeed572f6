"""GET the audit log of a business, newest first, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from pulse_shared.roles import Permission
from pulse_workspace.deps import BusinessPath, PoolDep, UserDep, role_for
from pulse_workspace.routes import ERRORS
from pulse_workspace.schemas import MAX_ID, AuditEntry, AuditOut
from pulse_workspace.store import AUDIT_PAGE

router = APIRouter(prefix="/v1/businesses", tags=["audit"])


@router.get(
    "/{business_id}/audit",
    response_model=AuditOut,
    responses=ERRORS,
    summary="Who changed what in the team, tokens and connections",
)
async def audit_log(
    user: UserDep,
    business_id: BusinessPath,
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(gt=0, le=MAX_ID, description="Entries before this id")
    ] = None,
) -> AuditOut:
    await role_for(pool, business_id, user, Permission.READ_AUDIT)
    rows = await pool.fetch(AUDIT_PAGE, business_id, before, limit)
    entries = [AuditEntry(**dict(row)) for row in rows]
    return AuditOut(entries=entries, next_before=entries[-1].id if len(entries) == limit else None)
