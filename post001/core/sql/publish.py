"""Preflight, publishing (atomic, idempotent, scheduled), unpublishing, the scheduler."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core import permissions, publishing
from post001.core.clock import as_utc
from post001.core.errors import (
    PermissionDenied,
    Post001Error,
    ValidationError,
)
from post001.core.models import (
    Outcome,
    Post,
    PostStatus,
    Preflight,
    PublishResult,
    Share,
    ShareOutcome,
    ShareStatus,
)
from post001.core.sql import direct
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.base import (
    _POST_BY_ID,
    _POST_BY_ID_FOR_UPDATE,
    _SHARE_FIELDS_RESET,
    _TARGETS,
    _UPDATE_DRAFT_SHARES,
    _UPDATE_POST,
    _UPDATE_SHARE,
    SqlBase,
    _target_pairs,
)


def due_posts(conn: sa.Connection, now: datetime) -> list[Any]:
    """(id, author_id, publish_at) of every author's scheduled posts due by `now`.

    On PostgreSQL through the SECURITY DEFINER function `post001_due_posts`
    (migrations/versions/0013_server_defence.py): the server's role sees no other
    author's drafts, and no session setting widens that; this one question is all the
    scheduler may ask across authors. Each post is then published as its author."""
    if conn.dialect.name == "postgresql":
        return list(conn.execute(sa.text(
            "SELECT id, author_id, publish_at FROM post001_due_posts(:now)"),
            {"now": now}).all())
    return list(conn.execute(
        sa.select(t.posts.c.id, t.posts.c.author_id, t.posts.c.publish_at)
        .where(t.posts.c.status == PostStatus.SCHEDULED.value,
               t.posts.c.publish_at <= now)
        .order_by(t.posts.c.publish_at)).all())


#: What publishing sets on a share (status, who shared it and when, no decision yet).
_SHARE_COLUMNS = ("status", "shared_at", "shared_by", *_SHARE_FIELDS_RESET)


def _stored_share(row: Any, post: Any) -> Share:
    """A share as stored, one that this publish left alone (a row of `_targets`)."""
    return Share(collective_id=row.collective_id, collective=row.slug,
                 collective_name=row.cname, status=ShareStatus(row.status),
                 shared_by=post.author if row.shared_by == post.author_id else None,
                 shared_at=row.shared_at, display_order=row.display_order,
                 decided_by=row.decider, decided_at=row.decided_at,
                 rejection_reason=row.rejection_reason)


class PublishMixin(SqlBase):
    def preflight(self, post_id: UUID) -> Preflight:
        with self._tx(read_only=True) as conn:
            post = self._own_post(conn, post_id)
            targets = self._targets(conn, post.id, as_user=post.author_id)
            plan = self._plan(post, [target for _, target in targets])
            reaching = {p.collective for p in plan.collectives
                        if p.outcome is not Outcome.NOT_ALLOWED}
            ids = [row.collective_id for row, target in targets if target.slug in reaching]
            return plan.model_copy(update={"reach": self._reach(conn, ids, post.author_id)})

    def _reach(self, conn: sa.Connection, collective_ids: list[UUID], author_id: UUID
               ) -> int:
        """The people the post reaches: distinct members of those collectives, the author
        aside (someone in three of them is one reader, not three). One query."""
        if not collective_ids:
            return 0
        m = t.members.c
        return int(conn.execute(
            sa.select(sa.func.count(sa.distinct(m.member_id)))
            .where(m.collective_id.in_(collective_ids), m.member_id != author_id)
        ).scalar_one())

    def _plan(self, post: Any, targets: Sequence[publishing.Target]) -> Preflight:
        return publishing.preflight(
            title=post.title or "", content=post.content or "", targets=targets,
            max_collectives=self._settings.max_collectives_per_post,
            max_content_chars=self._settings.max_content_chars,
        )

    def publish(self, post_id: UUID, *, idempotency_key: str | None = None) -> PublishResult:
        if idempotency_key is not None and not (0 < len(idempotency_key) <= 200):
            raise ValidationError("idempotency_key: must be 1 to 200 characters.",
                                  field="idempotency_key")
        refused: PermissionDenied | ValidationError | None = None
        try:
            return self._publish(post_id, idempotency_key)
        except (PermissionDenied, ValidationError) as err:
            refused = err
            raise
        finally:
            if refused is not None and "errors" in refused.details:
                self._record_refusal(post_id, refused)

    def _record_refusal(self, post_id: UUID, err: PermissionDenied | ValidationError) -> None:
        """A publish the rules refused leaves an audit event (`post001 stats` counts
        them), written after the refused transaction rolled back; best effort."""
        reasons = [{k: e.get(k) for k in ("code", "field", "collective") if e.get(k)}
                   for e in err.details.get("errors", [])]
        with contextlib.suppress(Post001Error), self._tx() as conn:
            self._audit(conn, [{"action": "post.publish_refused", "post_id": post_id,
                                "new": {"errors": reasons}}])

    def _publish(self, post_id: UUID, idempotency_key: str | None) -> PublishResult:
        with self._tx() as conn:
            if idempotency_key is not None:
                stored = conn.execute(sa.select(t.idempotency).where(
                    t.idempotency.c.user_id == self._user_id,
                    t.idempotency.c.key == idempotency_key)).first()
                if stored is not None:
                    if stored.post_id != post_id:
                        raise ValidationError(
                            "idempotency_key: this key was already used to publish another "
                            "post; use a new key.", field="idempotency_key")
                    replay = PublishResult.model_validate(stored.response)
                    return replay.model_copy(update={"replayed": True})
            post, shares = self._own_post_locked(conn, post_id)
            result = self._publish_locked(conn, post, actor=self._user_id, shares=shares)
            if idempotency_key is not None:
                conn.execute(t.idempotency.insert().values(
                    user_id=self._user_id, key=idempotency_key, post_id=post_id,
                    response=result.model_dump(mode="json"), created_at=self._now()))
            return result

    def _own_post_locked(self, conn: sa.Connection, post_id: UUID
                         ) -> tuple[Any, list[tuple[Any, publishing.Target]] | None]:
        """`_own_post(conn, post_id, lock=True)` and, when it is mine, its shares
        (`_targets`), both asked at once (one round trip on PostgreSQL; direct.py); a
        post that is missing or not mine takes the general path, which says which."""
        q = (self._direct.get("post/lock", _POST_BY_ID_FOR_UPDATE) if self._pg
             else self._direct.get("post", _POST_BY_ID))
        with direct.pipeline(conn):
            post = direct.start(conn, q, {"post_id": post_id})
            targets = direct.start(conn, self._direct.get("targets", _TARGETS),
                                   {"post_id": post_id, "as_user": self._user_id})
        rows, shares = post.rows(), targets.rows()
        if not rows or rows[0].author_id != self._user_id:
            return self._own_post(conn, post_id, lock=True), None
        return rows[0], _target_pairs(shares)

    def _publish_locked(self, conn: sa.Connection, post: Any, *, actor: UUID,
                        via_scheduler: bool = False,
                        shares: list[tuple[Any, publishing.Target]] | None = None
                        ) -> PublishResult:
        """Publish (or schedule) a post whose row this transaction holds.

        A fixed number of statements whatever the number of collectives: read the
        shares once, update the post, one UPDATE per resulting share status, one
        multi-row audit INSERT; the answer is built from what was written."""
        now = self._now()
        if shares is None:
            shares = self._targets(conn, post.id, as_user=post.author_id, counts=False)
        plan = self._plan(post, [target for _, target in shares])
        if not plan.can_publish:
            not_allowed = [e.collective for e in plan.errors if e.code == "not_allowed"]
            # A refusal somewhere is a permission error about that collective; otherwise
            # the first invalid field. The message names every reason either way.
            first = next((e for e in plan.errors if e.code == "not_allowed"), plan.errors[0])
            kind = PermissionDenied if not_allowed else ValidationError
            raise kind(publishing.blocking_message(plan), field=first.field,
                       collective=first.collective,
                       details={"errors": [e.model_dump() for e in plan.errors],
                                "not_allowed": not_allowed})
        # A post already out stays out: a publish time only schedules what is not live.
        scheduled = (not via_scheduler and post.status != PostStatus.PUBLISHED
                     and post.publish_at is not None and as_utc(post.publish_at) > now)
        waiting = any(row.status == ShareStatus.DRAFT for row, _ in shares)
        if (not via_scheduler and not waiting
                and post.status == (PostStatus.SCHEDULED if scheduled
                                    else PostStatus.PUBLISHED)):
            # Already out as asked: publishing again writes nothing (no version bump that
            # would turn open editors' next save into a false conflict, no second event).
            return self._unchanged(post, shares)
        events: list[dict[str, Any]] = []
        extra = {"via": "scheduler"} if via_scheduler else {}
        changes: dict[str, Any] = {"version": post.version + 1, "updated_at": now}
        new_status: dict[UUID, ShareStatus] = {}
        others: list[dict[str, Any]] = []
        drafts: dict[str, Any] | None = None
        if scheduled:
            changes["status"] = PostStatus.SCHEDULED.value
            events.append({"action": "post.scheduled", "post_id": post.id,
                           "old": {"status": post.status},
                           "new": {"status": "scheduled",
                                   "publish_at": as_utc(post.publish_at).isoformat()}})
        else:
            changes["status"] = PostStatus.PUBLISHED.value
            if post.status != PostStatus.PUBLISHED:
                changes["published_at"] = now
            events.append({"action": "post.published", "post_id": post.id,
                           "old": {"status": post.status},
                           "new": {"status": "published", **extra}})
            for row, target in shares:
                if row.status != ShareStatus.DRAFT:
                    continue  # decided shares keep their status (pending, published, rejected)
                status = permissions.share_status_on_publish(
                    role=target.role, require_approval=target.require_approval)
                assert status is not None  # the plan allowed it
                new_status[row.collective_id] = status
            if new_status:
                # The commonest status goes to every remaining draft share in one UPDATE;
                # any others first, row by row in one executemany.
                statuses = list(new_status.values())
                common = max(set(statuses), key=statuses.count)
                shared = {"shared_at": now, "shared_by": post.author_id, **_SHARE_FIELDS_RESET}
                others = [{"b_post_id": post.id, "b_collective_id": cid,
                           "status": status.value, **shared}
                          for cid, status in new_status.items() if status is not common]
                drafts = {"b_post_id": post.id, "status": common.value, **shared}
            events.extend({"action": "share.status_changed", "post_id": post.id,
                           "collective_id": cid, "old": {"status": "draft"},
                           "new": {"status": status.value, **extra}}
                          for cid, status in new_status.items())
        columns = tuple(sorted(changes))
        # Every write at once: one round trip on PostgreSQL (direct.pipeline).
        with direct.pipeline(conn):
            if others:
                direct.run_many(conn, self._direct.get("share", _UPDATE_SHARE, _SHARE_COLUMNS),
                                others)
            if drafts is not None:
                direct.run(conn, self._direct.get(
                    "draft shares", _UPDATE_DRAFT_SHARES, _SHARE_COLUMNS), drafts)
            direct.run(conn, self._direct.get(("post", columns), _UPDATE_POST, columns),
                       {"b_post_id": post.id, **changes})
            self._audit(conn, events, actor=actor)
        out_shares = [
            Share(collective_id=row.collective_id, collective=row.slug,
                  collective_name=row.cname, status=new_status[row.collective_id],
                  shared_by=post.author, shared_at=now, display_order=row.display_order)
            if row.collective_id in new_status else _stored_share(row, post)
            for row, _ in shares
        ]
        out = R.to_post(SimpleNamespace(**{**post._asdict(), **changes}), out_shares)
        return PublishResult(
            post=out,
            scheduled=scheduled,
            outcomes=[ShareOutcome(collective=s.collective, collective_name=s.collective_name,
                                   status=s.status, rejection_reason=s.rejection_reason)
                      for s in out_shares],
        )

    def _unchanged(self, post: Any, shares: list[Any]) -> PublishResult:
        out_shares = [_stored_share(row, post) for row, _ in shares]
        return PublishResult(
            post=R.to_post(post, out_shares),
            scheduled=post.status == PostStatus.SCHEDULED,
            outcomes=[ShareOutcome(collective=s.collective, collective_name=s.collective_name,
                                   status=s.status, rejection_reason=s.rejection_reason)
                      for s in out_shares],
            changed=False,
        )

    def unpublish(self, post_id: UUID) -> Post:
        with self._tx() as conn:
            post = self._own_post(conn, post_id, lock=True)
            if post.status not in (PostStatus.PUBLISHED, PostStatus.SCHEDULED):
                raise ValidationError(f"status: the post is {post.status}, not published.",
                                      field="status")
            live = conn.execute(sa.select(t.shares.c.collective_id, t.shares.c.status).where(
                t.shares.c.post_id == post_id,
                t.shares.c.status != ShareStatus.DRAFT.value)).all()
            now = self._now()
            conn.execute(t.posts.update().where(t.posts.c.id == post_id).values(
                status=PostStatus.DRAFT.value, version=post.version + 1, published_at=None,
                updated_at=now))
            if live:
                conn.execute(t.shares.update().where(t.shares.c.post_id == post_id)
                             .values(status=ShareStatus.DRAFT.value, **_SHARE_FIELDS_RESET))
            self._audit(conn, [
                {"action": "post.unpublished", "post_id": post_id,
                 "old": {"status": post.status}, "new": {"status": "draft"}},
                *({"action": "share.status_changed", "post_id": post_id,
                   "collective_id": r.collective_id, "old": {"status": r.status},
                   "new": {"status": "draft"}} for r in live),
            ])
            return self._post_out(conn, post_id)

    def publish_due(self, now: datetime | None = None) -> list[UUID]:
        """Each due post in its own transaction; a post another worker already took
        (its status is no longer 'scheduled') is skipped, so it is published once."""
        now = as_utc(now) if now else self._now()
        with self._tx(read_only=True) as conn:
            due = [(r.id, r.author_id) for r in due_posts(conn, now)]
        published: list[UUID] = []
        for post_id, author_id in due:
            with self._tx(as_user=author_id) as conn:
                q = R.post_select().where(t.posts.c.id == post_id,
                                          t.posts.c.status == PostStatus.SCHEDULED.value)
                if self._pg:
                    q = q.with_for_update(of=t.posts, skip_locked=True)
                post = conn.execute(q).first()
                if post is None:
                    continue
                try:
                    with conn.begin_nested():
                        self._publish_locked(conn, post, actor=author_id, via_scheduler=True)
                    published.append(post_id)
                except (PermissionDenied, ValidationError) as err:
                    # Rules changed since it was scheduled: back to draft, reasons recorded.
                    conn.execute(t.posts.update().where(t.posts.c.id == post_id).values(
                        status=PostStatus.DRAFT.value, version=post.version + 1,
                        updated_at=self._now()))
                    self._audit(conn, [{"action": "post.schedule_failed", "post_id": post_id,
                                        "old": {"status": "scheduled"},
                                        "new": {"status": "draft", "reason": err.message}}],
                                actor=author_id)
        return published
