"""Reviews waiting for me, the audit trail, search, and the scheduler's trigger."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Body, Query
from starlette.concurrency import run_in_threadpool

from post001.core.clock import as_utc
from post001.core.models import AuditEvent, PostSummary, ReviewItem
from post001.server.context import Ctx, PageDep, Principal, StoreDep
from post001.server.routers import api_router
from post001.server.scheduler import run_due
from post001.server.schemas import SchedulerRequest, SchedulerRun

router = api_router("activity")


@router.get("/reviews", response_model=list[ReviewItem])
def pending_reviews(
    store: StoreDep,
    page: PageDep,
    collective: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> list[ReviewItem]:
    return page.cut(store.pending_reviews(collective))


@router.get("/audit", response_model=list[AuditEvent])
def audit(
    store: StoreDep,
    page: PageDep,
    post_id: UUID | None = None,
    collective: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[AuditEvent]:
    events = store.audit(post_id=post_id, collective=collective, actor=actor, limit=page.end)
    return page.cut(events)


@router.get("/search", response_model=list[PostSummary])
def search(
    store: StoreDep,
    page: PageDep,
    q: Annotated[str, Query(max_length=500)] = "",
) -> list[PostSummary]:
    return page.cut(store.search(q, limit=page.end))


@router.post("/scheduler/run", response_model=SchedulerRun)
async def run_scheduler(ctx: Ctx, principal: Principal,
                        body: Annotated[SchedulerRequest | None, Body()] = None) -> SchedulerRun:
    """Publish what is due now; any signed-in user may ask. A `now` later than the
    server's clock counts only where the server trusts client clocks (tests)."""
    now = ctx.now()
    if body is not None and body.now is not None:
        asked = as_utc(body.now)
        now = asked if ctx.server.trust_client_clock else min(asked, now)
    return SchedulerRun(published=await run_in_threadpool(run_due, ctx, now))
