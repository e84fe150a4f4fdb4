"""Moderation: the review queue, approve, reject with a reason, resubmit."""

from __future__ import annotations

from uuid import UUID

import pydantic
import sqlalchemy as sa

from post001.core import permissions
from post001.core.errors import (
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from post001.core.models import (
    Post,
    PostStatus,
    RejectionReason,
    ReviewItem,
    Role,
    ShareStatus,
)
from post001.core.sql import tables as t
from post001.core.sql.base import (
    _SHARE_FIELDS_RESET,
    SqlBase,
)
from post001.core.text import excerpt


class ReviewsMixin(SqlBase):
    def pending_reviews(self, slug: str | None = None) -> list[ReviewItem]:
        with self._tx(read_only=True) as conn:
            q = (
                sa.select(t.posts.c.id, t.posts.c.title, t.posts.c.content,
                          t.users.c.username, t.collectives.c.slug, t.collectives.c.name,
                          t.shares.c.shared_at)
                .select_from(t.shares)
                .join(t.posts, t.posts.c.id == t.shares.c.post_id)
                .join(t.users, t.users.c.id == t.posts.c.author_id)
                .join(t.collectives, t.collectives.c.id == t.shares.c.collective_id)
                .join(t.members, sa.and_(t.members.c.collective_id == t.collectives.c.id,
                                         t.members.c.member_id == self._user_id))
                .where(t.shares.c.status == ShareStatus.PENDING_APPROVAL.value,
                       # Archived or unpublished posts are their author's alone again.
                       t.posts.c.status == PostStatus.PUBLISHED.value,
                       t.members.c.role.in_([r.value for r in permissions.MODERATORS]))
                .order_by(t.shares.c.shared_at)
            )
            if slug is not None:
                _, role = self._membership(conn, slug)
                decision = permissions.can_moderate(role=role)
                if not decision:
                    raise PermissionDenied(decision.reason or "", collective=slug)
                q = q.where(t.collectives.c.slug == slug)
            return [ReviewItem(post_id=r.id, title=r.title or "", author=r.username,
                               collective=r.slug, collective_name=r.name,
                               shared_at=r.shared_at, excerpt=excerpt(r.content or ""))
                    for r in conn.execute(q)]

    def _decide(self, post_id: UUID, slug: str, *, new: ShareStatus, action: str,
                reason: str | None = None) -> Post:
        with self._tx() as conn:
            coll, role = self._membership(conn, slug)
            share = conn.execute(sa.select(t.shares).where(
                t.shares.c.post_id == post_id, t.shares.c.collective_id == coll.id)).first()
            decision = permissions.can_moderate(role=role)
            post = conn.execute(sa.select(t.posts.c.author_id, t.posts.c.status)
                                .where(t.posts.c.id == post_id)).first()
            # Only someone who may see the share learns that it exists.
            if not decision and share is not None and post is not None and (
                    post.author_id == self._user_id or share.status == ShareStatus.PUBLISHED):
                raise PermissionDenied(decision.reason or "", collective=slug)
            if (share is None or post is None or not decision
                    or post.status != PostStatus.PUBLISHED):
                raise NotFoundError(f"No post {post_id} waiting in {slug!r}.", collective=slug)
            if share.status != ShareStatus.PENDING_APPROVAL:
                raise ValidationError(
                    f"status: this share is {share.status}, not waiting for review.",
                    field="status", collective=slug)
            conn.execute(t.shares.update().where(t.shares.c.id == share.id).values(
                status=new.value, decided_by=self._user_id, decided_at=self._now(),
                rejection_reason=reason))
            self._audit(conn, [{"action": action, "post_id": post_id, "collective_id": coll.id,
                                "old": {"status": share.status},
                                "new": {"status": new.value,
                                        **({"reason": reason} if reason else {})}}])
            return self._post_out(conn, post_id)

    def approve(self, post_id: UUID, slug: str) -> Post:
        return self._decide(post_id, slug, new=ShareStatus.PUBLISHED, action="share.approved")

    def reject(self, post_id: UUID, slug: str, reason: str) -> Post:
        try:
            clean = pydantic.TypeAdapter(RejectionReason).validate_python(reason)
        except pydantic.ValidationError as err:
            raise ValidationError(
                f"reason: a rejection needs a reason the author can read (1 to "
                f"{1000} characters; got {len(reason.strip())}).", field="reason") from err
        return self._decide(post_id, slug, new=ShareStatus.REJECTED, action="share.rejected",
                            reason=clean)

    def resubmit(self, post_id: UUID, slug: str) -> Post:
        with self._tx() as conn:
            post = self._own_post(conn, post_id, lock=True)
            target = self._resolve(conn, [slug])[slug]
            share = conn.execute(sa.select(t.shares).where(
                t.shares.c.post_id == post_id, t.shares.c.collective_id == target.id)).first()
            if share is None or share.status != ShareStatus.REJECTED:
                raise ValidationError(
                    f"status: only a rejected share can be resubmitted; this one is "
                    f"{share.status if share else 'not shared'}.", field="status",
                    collective=slug)
            if post.status != PostStatus.PUBLISHED:
                raise ValidationError("status: publish the post again instead.",
                                      field="status", collective=slug)
            status = self._status_for(target, post.status)
            if status is None:
                decision = permissions.can_share(is_author=True, role=Role(target.role))
                raise PermissionDenied(f"Cannot post to {target.name} ({slug}): "
                                       f"{decision.reason}.", collective=slug)
            conn.execute(t.shares.update().where(t.shares.c.id == share.id).values(
                status=status.value, shared_at=self._now(), **_SHARE_FIELDS_RESET))
            self._audit(conn, [{"action": "share.resubmitted", "post_id": post_id,
                                "collective_id": target.id, "old": {"status": "rejected"},
                                "new": {"status": status.value}}])
            return self._post_out(conn, post_id)
