"""Liveness and the post-creation health report (docs/product.md, "Health")."""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

import post001.server.auth as auth_mod
from post001.core.errors import Post001Error
from post001.server.context import Ctx, ServerContext
from post001.server.schemas import Health, PostCreationHealth

router = APIRouter(prefix="/api", tags=["health"])
_optional_bearer = HTTPBearer(auto_error=False)

AUTOSAVE_PATHS = ("/api/v1/posts/{post_id}", "/api/v1/posts/{post_id}/draft")
VERSION = "0.1.0"


def _ping(ctx: ServerContext) -> tuple[bool, bool, float]:
    """(database reachable, shares table readable, round trip in ms)."""
    started = time.perf_counter()
    try:
        with ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            ms = (time.perf_counter() - started) * 1000
            try:
                conn.execute(sa.text("SELECT 1 FROM post_collectives LIMIT 1"))
                shares = True
            except sa.exc.SQLAlchemyError:
                shares = False
        return True, shares, ms
    except sa.exc.SQLAlchemyError:
        return False, False, (time.perf_counter() - started) * 1000


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(ctx: Ctx) -> JSONResponse:
    ok, _, _ = _ping(ctx)
    body = Health(status="ok" if ok else "unavailable",
                  database="healthy" if ok else "unavailable",
                  timestamp=ctx.now(), version=VERSION, row_level_security=ctx.rls)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


_ADOPTION_SQL = """
    SELECT (SELECT count(*) FROM posts) AS posts,
           (SELECT count(*) FROM post_collectives) AS shares,
           (SELECT count(*) FROM (SELECT post_id FROM post_collectives
                                  GROUP BY post_id HAVING count(*) >= 2) m) AS multi,
           (SELECT count(*) FROM posts
            WHERE status = 'published' OR published_at IS NOT NULL) AS published
"""


def _adoption(ctx: ServerContext, viewer: auth_mod.Principal | None) -> dict[str, Any]:
    with ctx.engine.begin() as conn:
        # Server-wide counts: on PostgreSQL through a SECURITY DEFINER function
        # (0013_server_defence), since the server's role cannot count others' drafts.
        sql = ("SELECT * FROM post001_adoption_counts()"
               if conn.dialect.name == "postgresql" else _ADOPTION_SQL)
        row = conn.execute(sa.text(sql)).one()
        top: list[dict[str, Any]] | None = None
        if viewer is not None:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT set_config('post001.user_id', :uid, true)"),
                             {"uid": str(viewer.user_id)})
            # Only collectives the viewer belongs to: no leaking which others exist.
            top = [dict(r._mapping) for r in conn.execute(sa.text("""
                SELECT c.slug, c.name, count(*) AS published_shares
                FROM post_collectives s
                JOIN collectives c ON c.id = s.collective_id
                JOIN collective_members m ON m.collective_id = c.id AND m.member_id = :viewer
                WHERE s.status = 'published'
                GROUP BY c.id, c.slug, c.name
                ORDER BY published_shares DESC, c.slug LIMIT 5
            """), {"viewer": viewer.user_id})]
    posts = int(row.posts)
    return {
        "posts": posts,
        "posts_shared_to_2_or_more": int(row.multi),
        "average_collectives_per_post": round(int(row.shares) / posts, 3) if posts else 0.0,
        "creation_to_publish_completion_percent":
            round(100 * int(row.published) / posts, 1) if posts else 0.0,
        **({"top_collectives": top} if top is not None else {}),
    }


def _viewer(ctx: ServerContext, credentials: HTTPAuthorizationCredentials | None
            ) -> auth_mod.Principal | None:
    if credentials is None:
        return None
    try:
        return auth_mod.authenticate(ctx.engine, credentials.credentials, ctx.now())
    except Post001Error:
        return None


def _may_see_figures(ctx: ServerContext, credentials: HTTPAuthorizationCredentials | None
                     ) -> tuple[bool, auth_mod.Principal | None]:
    """(whether the caller sees the figures, the signed-in viewer if any): the metrics
    token's holder, or a signed-in user named in POST001_SERVER_ADMIN_USERS."""
    if credentials is None:
        return False, None
    secret = ctx.server.metrics_token
    if secret is not None and hmac.compare_digest(
            credentials.credentials.encode(), secret.get_secret_value().encode()):
        return True, None
    viewer = _viewer(ctx, credentials)
    return viewer is not None and viewer.username in ctx.server.admins, viewer


@router.get("/health/post-creation", response_model=PostCreationHealth,
            responses={503: {"model": PostCreationHealth}})
def post_creation_health(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_optional_bearer)],
) -> JSONResponse:
    db_ok, shares_ok, db_ms = _ping(ctx)
    allowed, viewer = _may_see_figures(ctx, credentials)
    samples = [s for s in ctx.metrics.recent() if not s.path.startswith("/api/health")]
    total = len(samples)
    errors = sum(1 for s in samples if s.status >= 500)
    durations = sorted(s.ms for s in samples)
    saves = [s for s in samples if s.method == "PATCH" and s.path in AUTOSAVE_PATHS]
    saved = sum(1 for s in saves if 200 <= s.status < 300)
    failed_saves = sum(1 for s in saves if s.status >= 500)
    autosave_rate = (saved / (saved + failed_saves)) if (saved + failed_saves) else None
    selection_errors = sum(1 for s in samples if "/collectives" in s.path and s.status >= 500)
    error_rate = 100 * errors / total if total else 0.0
    p95 = durations[int(0.95 * (total - 1))] if total else 0.0
    rls_state = {True: "active (API and row-level security)",
                 None: "active (API only; SQLite has no row-level security)",
                 False: "degraded (row-level security not in force)"}[ctx.rls]
    components = {
        "database": "healthy" if db_ok else "unavailable",
        "post_collectives_table": "available" if shares_ok else "unavailable",
        "collective_selection": "functional" if selection_errors == 0 else "degraded",
        "auto_save": "operational" if autosave_rate in (None, 1.0) or (
            autosave_rate is not None and autosave_rate >= 0.95) else "degraded",
        "permission_validation": rls_state,
    }
    if not db_ok or not shares_ok:
        status = "critical"
    elif (error_rate > 5 or p95 > 2000 or components["auto_save"] != "operational"
          or ctx.rls is False or selection_errors):
        status = "warning"
    else:
        status = "healthy"
    code = 503 if status == "critical" else 200
    if not allowed:
        # Status only: counts, flags and timings are not for anonymous callers.
        brief = PostCreationHealth(status=status, timestamp=ctx.now())
        return JSONResponse(brief.model_dump(mode="json", exclude_none=True),
                            status_code=code)
    adoption: dict[str, Any] = {}
    if db_ok:
        try:
            adoption = _adoption(ctx, viewer)
        except sa.exc.SQLAlchemyError:
            adoption = {}
    adoption["auto_save_success_rate_percent"] = (
        round(100 * autosave_rate, 2) if autosave_rate is not None else None)
    body = PostCreationHealth(
        status=status,
        timestamp=ctx.now(),
        components=components,
        metrics={
            "response_time_ms": round(sum(durations) / total, 2) if total else 0.0,
            "p95_response_time_ms": round(p95, 2),
            "database_round_trip_ms": round(db_ms, 2),
            "error_rate_percent": round(error_rate, 2),
            "requests": total,
            "window_seconds": ctx.metrics.window_seconds,
            "feature_flags": ctx.flags.as_dict(),
        },
        feature_flags=ctx.flags.as_dict(),
        adoption=adoption,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=code)
