"""GET /.well-known/jwks.json: the public keys of Pulse's access tokens."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pulse_workspace.deps import SignerDep

router = APIRouter(tags=["keys"])

# Short enough that a rotation's new key is seen soon; verifiers also refetch on an
# unknown key id.
CACHE_CONTROL = "public, max-age=300"


@router.get("/.well-known/jwks.json", summary="The keys that sign Pulse's access tokens")
async def jwks(signer: SignerDep) -> JSONResponse:
    return JSONResponse(signer.jwks(), headers={"Cache-Control": CACHE_CONTROL})
