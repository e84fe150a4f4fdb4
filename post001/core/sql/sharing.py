"""Choosing collectives: the selection, adding and removing shares, the legacy mirror."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core import permissions
from post001.core.errors import (
    NotFoundError,
    PermissionDenied,
)
from post001.core.models import (
    Post,
    PostStatus,
    Role,
    ShareStatus,
)
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.base import (
    SqlBase,
)


class SharingMixin(SqlBase):
    def set_collectives(self, post_id: UUID, slugs: Sequence[str]) -> Post:
        wanted = list(dict.fromkeys(slugs))
        self._check_selection(len(wanted))
        with self._tx() as conn:
            post = self._own_post(conn, post_id, lock=True)
            targets = self._resolve(conn, wanted)
            existing = {r.collective_id: r for r in conn.execute(
                sa.select(t.shares).where(t.shares.c.post_id == post_id)).all()}
            wanted_ids = {c.id for c in targets.values()}
            removed = [cid for cid in existing if cid not in wanted_ids]
            added = {s: c for s, c in targets.items() if c.id not in existing}
            self._apply_share_changes(conn, post, removed, added, existing)
            # Keep the writer's order.
            order = {c.id: i for i, c in enumerate(targets.values())}
            moved = [{"b_id": r.id, "b_order": order[cid]} for cid, r in existing.items()
                     if cid in order and r.display_order != order[cid]]
            if moved:
                conn.execute(t.shares.update().where(t.shares.c.id == sa.bindparam("b_id"))
                             .values(display_order=sa.bindparam("b_order")), moved)
            self._sync_legacy_collective(conn, post, removed=removed,
                                         selected=[c.id for c in targets.values()])
            return self._post_out(conn, post_id)

    def _apply_share_changes(self, conn: sa.Connection, post: Any, removed: list[UUID],
                             added: dict[str, Any], existing: dict[UUID, Any]) -> None:
        now = self._now()
        statuses: dict[str, ShareStatus] = {}
        for slug, target in added.items():
            decision = permissions.can_share(is_author=True, role=Role(target.role))
            status = self._status_for(target, post.status)
            if post.status == PostStatus.PUBLISHED and (not decision or status is None):
                raise PermissionDenied(
                    f"Cannot post to {target.name} ({slug}): {decision.reason}.",
                    collective=slug)
            statuses[slug] = status or ShareStatus.DRAFT
        if removed:
            conn.execute(t.shares.delete().where(t.shares.c.post_id == post.id,
                                                 t.shares.c.collective_id.in_(removed)))
        self._insert_shares(conn, post.id, added, statuses, now, start=len(existing))
        self._audit(conn, [
            *({"action": "share.removed", "post_id": post.id, "collective_id": cid,
               "old": {"status": existing[cid].status}} for cid in removed),
            *({"action": "share.added", "post_id": post.id, "collective_id": c.id,
               "new": {"status": statuses[s].value}} for s, c in added.items()),
        ])

    def add_share(self, post_id: UUID, slug: str) -> Post:
        with self._tx() as conn:
            post = self._own_post(conn, post_id, lock=True)
            target = self._resolve(conn, [slug])
            existing = {r.collective_id: r for r in conn.execute(
                sa.select(t.shares).where(t.shares.c.post_id == post_id)).all()}
            if target[slug].id not in existing:
                self._check_selection(len(existing) + 1)
                self._apply_share_changes(conn, post, [], target, existing)
                self._sync_legacy_collective(conn, post, selected=[target[slug].id])
            return self._post_out(conn, post_id)

    def remove_share(self, post_id: UUID, slug: str) -> Post | None:
        missing = NotFoundError(f"No post {post_id} shared to {slug!r}.", collective=slug)
        with self._tx() as conn:
            post = conn.execute(R.post_select().where(t.posts.c.id == post_id)).first()
            if post is None:
                raise missing
            is_author = post.author_id == self._user_id
            coll = conn.execute(
                sa.select(t.collectives.c.id, t.members.c.role)
                .outerjoin(t.members, sa.and_(t.members.c.collective_id == t.collectives.c.id,
                                              t.members.c.member_id == self._user_id))
                .where(t.collectives.c.slug == slug)
            ).first()
            share = None if coll is None else conn.execute(sa.select(t.shares).where(
                t.shares.c.post_id == post_id, t.shares.c.collective_id == coll.id)).first()
            role = Role(coll.role) if coll is not None and coll.role else None
            if not is_author and (share is None or not permissions.can_read_share(
                    is_author=False, status=ShareStatus(share.status), role=role,
                    post_readable=self._readable(conn, post))):
                raise missing  # the same answer whether or not it exists
            if coll is None or (role is None and share is None):
                raise NotFoundError(f"No collective {slug!r} among yours.", collective=slug)
            decision = permissions.can_remove_share(is_author=is_author, role=role)
            if not decision:
                raise PermissionDenied(decision.reason or "", collective=slug)
            if share is not None:
                conn.execute(t.shares.delete().where(t.shares.c.id == share.id))
                self._audit(conn, [{"action": "share.removed", "post_id": post_id,
                                    "collective_id": coll.id,
                                    "old": {"status": share.status}}])
                self._sync_legacy_collective(conn, post, removed=[coll.id])
            if is_author or self._readable(conn, post):
                return self._post_out(conn, post_id)
            return None

    def _sync_legacy_collective(self, conn: sa.Connection, post: Any, *,
                                removed: Sequence[UUID] = (),
                                selected: Sequence[UUID] | None = None) -> None:
        """Keep the legacy posts.collective_id that older readers use truthful, in every
        flow: one of the post's shares (the first chosen) while it has any, so turning
        multi-collective off, or going back to the old platform, still finds each post
        in a collective. In the legacy one-collective flow it is the selection."""
        current = post.collective_id
        target = current
        if current is not None and current in removed:
            target = None
        if selected is not None and (target is None or not self.multi_collective()):
            target = next(iter(selected), None)
        if target is None and current is not None:
            target = conn.execute(  # the mirrored share went: the next one takes over
                sa.select(t.shares.c.collective_id).where(t.shares.c.post_id == post.id)
                .order_by(t.shares.c.display_order).limit(1)).scalar()
        if target != current:
            conn.execute(t.posts.update().where(t.posts.c.id == post.id)
                         .values(collective_id=target))
