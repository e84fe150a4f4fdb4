"""Sign-in: exchange a username and password for a token; list and revoke tokens."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import Request, Response, status

from post001.server import auth, metrics
from post001.server.context import Ctx, Principal
from post001.server.routers import api_router
from post001.server.schemas import TokenInfo, TokenIssued, TokenRequest

router = api_router("auth")


@router.post("/auth/token", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
def issue_token(body: TokenRequest, request: Request, ctx: Ctx) -> TokenIssued:
    client = request.client.host if request.client else "?"
    try:
        ctx.limiter.check(client, body.username)
    except auth.TooManyAttempts:
        metrics.signin_throttled()
        raise
    now = ctx.now()
    days = body.expires_in_days or ctx.server.token_days
    expires_at = now + timedelta(days=days) if days else None
    try:
        issued = auth.login(ctx.engine, body.username, body.password, now=now,
                            name=body.name, expires_at=expires_at)
    except auth.AuthError:
        ctx.limiter.failed(client, body.username)
        metrics.signin_failed()
        raise
    return TokenIssued.model_validate(issued)


@router.get("/auth/tokens", response_model=list[TokenInfo])
def list_tokens(ctx: Ctx, principal: Principal) -> list[TokenInfo]:
    return [
        TokenInfo(id=r.id, name=r.name, created_at=r.created_at, expires_at=r.expires_at,
                  last_used_at=r.last_used_at, revoked_at=r.revoked_at,
                  current=r.id == principal.token_id)
        for r in auth.list_tokens(ctx.engine, principal.user_id)
    ]


@router.delete("/auth/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
def revoke_token(token_id: UUID, ctx: Ctx, principal: Principal) -> Response:
    auth.revoke(ctx.engine, principal.user_id, token_id, ctx.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def sign_out(ctx: Ctx, principal: Principal) -> Response:
    """Revoke the token this request was made with (`post001 logout`)."""
    auth.revoke(ctx.engine, principal.user_id, principal.token_id, ctx.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
