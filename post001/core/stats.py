"""Adoption figures for operators (`post001 stats`), read from the audit trail.

- Multi-collective posts per day and collectives per post: each `post.published` event
  with the `share.status_changed` events of the same publish (same request id), i.e.
  the collectives a post went out to when it was published.
- Time from creation to publish: the post's `post.created` event (else its created_at)
  to its first `post.published` event in the window.
- Auto-save success rate: `save_counts` (migration 0011): saves counted by the
  database, conflicts and refusals by the store; no audit row per keystroke.
- Validation refusals: refused saves, `post.publish_refused` and `post.schedule_failed`
  events.
Days are UTC.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core.sql import tables as t

LIVE_SHARE_STATUSES = ("published", "pending_approval")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def adoption(conn: sa.Connection, since: datetime, until: datetime) -> dict[str, Any]:
    a = t.audit
    window = sa.and_(a.c.at >= since, a.c.at < until)
    published = conn.execute(
        sa.select(a.c.post_id, a.c.request_id, a.c.at)
        .where(a.c.action == "post.published", window).order_by(a.c.at)).all()
    fanned: dict[tuple[UUID, str | None], list[UUID]] = defaultdict(list)
    for post_id, request_id, collective_id, new in conn.execute(
            sa.select(a.c.post_id, a.c.request_id, a.c.collective_id, a.c.new_values)
            .where(a.c.action == "share.status_changed", window)):
        if (new or {}).get("status") in LIVE_SHARE_STATUSES:
            fanned[(post_id, request_id)].append(collective_id)

    first_publish: dict[UUID, datetime] = {}
    per_day: dict[date, list[int]] = defaultdict(list)
    per_post: list[int] = []
    collectives: Counter[UUID] = Counter()
    for post_id, request_id, at in published:
        targets = fanned.get((post_id, request_id), [])
        per_day[at.date()].append(len(targets))
        per_post.append(len(targets))
        collectives.update(targets)
        first_publish.setdefault(post_id, at)

    created: dict[UUID, datetime] = {}
    if first_publish:
        wanted = list(first_publish)
        for post_id, at in conn.execute(
                sa.select(a.c.post_id, sa.func.min(a.c.at))
                .where(a.c.action == "post.created", a.c.post_id.in_(wanted))
                .group_by(a.c.post_id)):
            created[post_id] = at
        missing = [p for p in wanted if p not in created]
        if missing:
            for post_id, at in conn.execute(sa.select(t.posts.c.id, t.posts.c.created_at)
                                            .where(t.posts.c.id.in_(missing))):
                created[post_id] = at
    waits = [(first_publish[p] - created[p]).total_seconds()
             for p in first_publish if p in created]

    top = collectives.most_common(5)
    names: dict[UUID, str] = {}
    if top:
        for cid, slug in conn.execute(sa.select(t.collectives.c.id, t.collectives.c.slug)
                                      .where(t.collectives.c.id.in_([c for c, _ in top]))):
            names[cid] = slug

    s = t.save_counts.c
    saves = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(s.saves), 0),
                  sa.func.coalesce(sa.func.sum(s.conflicts), 0),
                  sa.func.coalesce(sa.func.sum(s.refused), 0))
        .where(s.day >= since.date(), s.day <= until.date())).one()
    saved, conflicts, refused_saves = (int(v) for v in saves)
    attempts = saved + conflicts + refused_saves
    refusals: dict[str, int] = {}
    for action, n in conn.execute(
            sa.select(a.c.action, sa.func.count())
            .where(a.c.action.in_(["post.publish_refused", "post.schedule_failed"]), window)
            .group_by(a.c.action)):
        refusals[action] = int(n)

    days = []
    day = since.date()
    while day <= (until - timedelta(microseconds=1)).date():
        counts = per_day.get(day, [])
        multi = sum(1 for n in counts if n >= 2)
        days.append({"day": day.isoformat(), "published": len(counts),
                     "multi_collective": multi,
                     "multi_collective_percent":
                         round(100 * multi / len(counts), 1) if counts else None})
        day += timedelta(days=1)
    distribution = Counter(min(n, 10) for n in per_post)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "published_posts": len(per_post),
        "multi_collective_posts": sum(1 for n in per_post if n >= 2),
        "per_day": days,
        "collectives_per_post": {
            "average": round(statistics.fmean(per_post), 2) if per_post else None,
            "distribution": {("10+" if k == 10 else str(k)): distribution[k]
                             for k in sorted(distribution)},
        },
        "top_collectives": [{"collective": names.get(c, str(c)), "published_shares": n}
                            for c, n in top],
        "creation_to_publish_hours": {
            "posts": len(waits),
            "median": _hours(statistics.median(waits)) if waits else None,
            "p90": _hours(_percentile(waits, 0.9)) if waits else None,
            "mean": _hours(statistics.fmean(waits)) if waits else None,
        },
        "autosave": {
            "saves": saved, "conflicts": conflicts, "refused": refused_saves,
            "success_rate_percent": round(100 * saved / attempts, 2) if attempts else None,
        },
        "validation_refusals": {
            "saves": refused_saves,
            "publishes": int(refusals.get("post.publish_refused", 0)),
            "scheduled_publishes": int(refusals.get("post.schedule_failed", 0)),
        },
    }
