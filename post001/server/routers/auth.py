"""Sign-in: exchange a username and password for a token; list and revoke tokens."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import anyio
from fastapi import Request, Response, status
from starlette.concurrency import run_in_threadpool

from post001.core.errors import PermissionDenied
from post001.server import auth, metrics
from post001.server.context import Ctx, Principal, ServerContext, checked_principal
from post001.server.routers import api_router
from post001.server.schemas import (
    PasswordChange,
    PasswordChanged,
    TokenInfo,
    TokenIssued,
    TokenRequest,
)

router = api_router("auth")


def token_days(asked: int | None, default: int, cap: int) -> int:
    """The life of a new token in days (0: no expiry): what the client asked for, else
    the server's default, never beyond the server's cap."""
    days = asked or default
    if cap and (days == 0 or days > cap):
        days = cap
    return days


@contextlib.asynccontextmanager
async def password_check(ctx: ServerContext, request: Request,
                         username: str) -> AsyncIterator[None]:
    """Throttle one password check and hold a verification slot for it.

    The attempt is reserved as a failure before argon2 runs (so parallel guesses are
    counted as they arrive), and given back when the password was right, or when it
    was never checked (no slot in time, database down). The slot is awaited on the
    event loop: a sign-in queued behind others holds no request thread
    (post001/server/auth.py, VerifyGate). The database work runs in threads."""
    client = ctx.signin.client_of(request.client.host if request.client else None,
                                  request.headers.getlist("x-forwarded-for"))
    now = ctx.now()
    throttle = ctx.signin.throttle
    try:
        reservation = await run_in_threadpool(throttle.reserve, client, username, now)
    except auth.TooManyAttempts:
        metrics.signin_throttled()
        raise
    try:
        async with ctx.signin.gate.waiting():
            yield
    except (auth.AuthError, PermissionDenied):
        metrics.signin_failed()
        raise
    except BaseException:
        # Shielded: a request cancelled while it waited for a slot still gives back
        # the failure it reserved.
        with contextlib.suppress(Exception), anyio.CancelScope(shield=True):
            await run_in_threadpool(
                functools.partial(throttle.release, reservation, now, signed_in=False))
        raise
    await run_in_threadpool(
        functools.partial(throttle.release, reservation, now, signed_in=True))


@router.post("/auth/token", response_model=TokenIssued, status_code=status.HTTP_201_CREATED)
async def issue_token(body: TokenRequest, request: Request, ctx: Ctx) -> TokenIssued:
    now = ctx.now()
    days = token_days(body.expires_in_days, ctx.server.token_days, ctx.server.max_token_days)
    expires_at = now + timedelta(days=days) if days else None
    async with password_check(ctx, request, body.username):
        issued = await run_in_threadpool(functools.partial(
            auth.login, ctx.engine, body.username, body.password, now=now,
            name=body.name, expires_at=expires_at))
    return TokenIssued.model_validate(issued)


@router.post("/auth/password", response_model=PasswordChanged)
async def change_password(body: PasswordChange, request: Request, ctx: Ctx,
                          principal: Principal) -> PasswordChanged:
    """Change my password. Every other token of mine is revoked; this one stays."""
    me = await checked_principal(principal)
    async with password_check(ctx, request, me.username):
        revoked = await run_in_threadpool(functools.partial(
            auth.change_password, ctx.engine, me, body.current_password,
            body.new_password, now=ctx.now()))
    return PasswordChanged(tokens_revoked=revoked)


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
