"""Collectives and their members: creation, settings, roles, the picker's list, feeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core import permissions
from post001.core.errors import (
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from post001.core.models import (
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    PostStatus,
    PostSummary,
    Role,
    ShareStatus,
)
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.base import (
    _MEMBER_COUNT,
    _ROLE_RANK_SQL,
    SqlBase,
    _like,
    _new_id,
)
from post001.core.store import CollectiveSort
from post001.core.validation import check_text, parse


class CollectivesMixin(SqlBase):
    def _collective_out(self, conn: sa.Connection, collective_id: UUID) -> Collective:
        row = conn.execute(
            sa.select(t.collectives, t.users.c.username.label("owner"),
                      _MEMBER_COUNT.label("member_count"))
            .join(t.users, t.users.c.id == t.collectives.c.owner_id)
            .where(t.collectives.c.id == collective_id)
        ).one()
        return Collective(
            id=row.id, slug=row.slug, name=row.name, description=row.description or "",
            owner=row.owner, require_approval=bool(row.require_approval),
            member_count=row.member_count, created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def create_collective(self, data: CollectiveCreate) -> Collective:
        data = parse(CollectiveCreate, data)
        now = self._now()
        cid = _new_id()
        with self._tx() as conn:
            taken = conn.execute(
                sa.select(t.collectives.c.id).where(t.collectives.c.slug == data.slug)
            ).first()
            if taken:
                raise ValidationError(f"slug: {data.slug!r} is already taken.", field="slug")
            conn.execute(t.collectives.insert().values(
                id=cid, slug=data.slug, name=data.name, description=data.description,
                owner_id=self._user_id, require_approval=data.require_approval,
                created_at=now, updated_at=now,
            ))
            conn.execute(t.members.insert().values(
                id=_new_id(), collective_id=cid, member_id=self._user_id,
                role=Role.OWNER.value, created_at=now,
            ))
            self._audit(conn, [
                {"action": "collective.created", "collective_id": cid,
                 "new": data.model_dump(mode="json")},
                {"action": "member.added", "collective_id": cid,
                 "new": {"user_id": str(self._user_id), "role": Role.OWNER.value}},
            ])
            return self._collective_out(conn, cid)

    def get_collective(self, slug: str) -> Collective:
        with self._tx(read_only=True) as conn:
            row, _ = self._membership(conn, slug)
            return self._collective_out(conn, row.id)

    def update_collective(self, slug: str, data: CollectiveUpdate) -> Collective:
        data = parse(CollectiveUpdate, data)
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        with self._tx() as conn:
            row, role = self._membership(conn, slug)
            decision = permissions.can_change_settings(role=role)
            if not decision:
                raise PermissionDenied(decision.reason or "", collective=slug)
            old = {k: row._mapping[k] for k in changes}
            changed = {k: v for k, v in changes.items() if old[k] != v}
            if changed:
                conn.execute(t.collectives.update().where(t.collectives.c.id == row.id)
                             .values(**changed, updated_at=self._now()))
                self._audit(conn, [{"action": "collective.settings_changed",
                                    "collective_id": row.id,
                                    "old": {k: old[k] for k in changed}, "new": changed}])
            return self._collective_out(conn, row.id)

    def my_collectives(
        self,
        query: str = "",
        *,
        postable_only: bool = False,
        sort: CollectiveSort = "role",
        limit: int | None = None,
    ) -> list[Membership]:
        member_count = _MEMBER_COUNT.label("member_count")
        q = (
            sa.select(t.collectives.c.id, t.collectives.c.slug, t.collectives.c.name,
                      t.collectives.c.require_approval, t.members.c.role, member_count)
            .join(t.members, t.members.c.collective_id == t.collectives.c.id)
            .where(t.members.c.member_id == self._user_id)
        )
        if check_text("query", query).strip():
            pattern = _like(query.strip())
            q = q.where(sa.or_(sa.func.lower(t.collectives.c.name).like(pattern, escape="\\"),
                               sa.func.lower(t.collectives.c.slug).like(pattern, escape="\\")))
        if postable_only:
            q = q.where(t.members.c.role.in_([r.value for r in permissions.SHARERS]))
        name_key = sa.func.lower(t.collectives.c.name)
        order = {
            "role": [_ROLE_RANK_SQL, name_key],
            "name": [name_key, t.collectives.c.slug],
            "members": [sa.desc(member_count), name_key],
        }.get(sort)
        if order is None:
            raise ValidationError(f"sort: {sort!r} is not one of role, name, members.",
                                  field="sort")
        q = q.order_by(*order, t.collectives.c.slug)
        if limit is not None:
            q = q.limit(max(0, limit))
        with self._tx(read_only=True) as conn:
            result = []
            for r in conn.execute(q):
                role = Role(r.role)
                decision = permissions.can_share(is_author=True, role=role)
                result.append(Membership(
                    collective_id=r.id, slug=r.slug, name=r.name, role=role,
                    member_count=r.member_count, require_approval=bool(r.require_approval),
                    can_post=decision.allowed, reason=decision.reason,
                ))
            return result

    def reach(self, slugs: Sequence[str]) -> int:
        wanted = sorted({check_text("collectives", s) for s in slugs})
        limit = self._settings.max_collectives_per_post
        if len(wanted) > limit:
            raise ValidationError(
                f"collectives: {len(wanted)} given; the limit is {limit} per post.",
                field="collectives", details={"limit": limit, "size": len(wanted)})
        if not wanted:
            return 0
        c, m = t.collectives.c, t.members.c
        mine = t.members.alias("mine")
        # One query: the collectives where the user's own membership lets them share
        # (the roles come from the permission rules), then everyone else in them, once.
        query = (
            sa.select(sa.func.count(sa.distinct(m.member_id)))
            .select_from(t.members.join(t.collectives, c.id == m.collective_id)
                         .join(mine, mine.c.collective_id == c.id))
            .where(c.slug.in_(wanted), mine.c.member_id == self._user_id,
                   mine.c.role.in_([r.value for r in permissions.SHARERS]),
                   m.member_id != self._user_id)
        )
        with self._tx(read_only=True) as conn:
            return int(conn.execute(query).scalar_one())

    def members(self, slug: str) -> list[Member]:
        with self._tx(read_only=True) as conn:
            row, _ = self._membership(conn, slug)
            rows = conn.execute(
                sa.select(t.users.c.username, t.users.c.display_name, t.members.c.role,
                          t.members.c.created_at)
                .join(t.users, t.users.c.id == t.members.c.member_id)
                .where(t.members.c.collective_id == row.id)
                .order_by(_ROLE_RANK_SQL, t.users.c.username)
            ).all()
            return [Member(username=r.username, display_name=r.display_name or "",
                           role=Role(r.role), joined_at=r.created_at) for r in rows]

    def _member_of(self, conn: sa.Connection, collective_id: UUID, user_id: UUID) -> Any:
        return conn.execute(
            sa.select(t.members).where(t.members.c.collective_id == collective_id,
                                       t.members.c.member_id == user_id)
        ).first()

    def _existing_member(self, conn: sa.Connection, slug: str, username: str
                         ) -> tuple[Any, Role, Any, Any]:
        """(collective, my role there, the user, their membership row) or NotFound."""
        coll, my_role = self._membership(conn, slug)
        user = self._user_by_name(conn, username)
        target = self._member_of(conn, coll.id, user.id)
        if target is None:
            raise NotFoundError(f"{username} is not a member of {slug}.", field="username",
                                collective=slug)
        return coll, my_role, user, target

    def add_member(self, slug: str, username: str, role: Role = Role.MEMBER) -> Member:
        role = Role(role)
        with self._tx() as conn:
            coll, my_role = self._membership(conn, slug)
            decision = permissions.can_add_member(actor_role=my_role, new_role=role)
            if not decision:
                raise PermissionDenied(decision.reason or "", collective=slug)
            user = self._user_by_name(conn, username)
            if self._member_of(conn, coll.id, user.id):
                raise ValidationError(f"{username} is already a member of {slug}.",
                                      field="username", collective=slug)
            now = self._now()
            conn.execute(t.members.insert().values(
                id=_new_id(), collective_id=coll.id, member_id=user.id, role=role.value,
                created_at=now))
            self._audit(conn, [{"action": "member.added", "collective_id": coll.id,
                                "new": {"username": username, "role": role.value}}])
            return Member(username=username, display_name=user.display_name or "", role=role,
                          joined_at=now)

    def set_role(self, slug: str, username: str, role: Role) -> Member:
        role = Role(role)
        with self._tx() as conn:
            coll, my_role, user, target = self._existing_member(conn, slug, username)
            decision = permissions.can_change_role(
                actor_role=my_role, target_role=Role(target.role), new_role=role)
            if not decision:
                raise PermissionDenied(decision.reason or "", collective=slug)
            events: list[dict[str, Any]] = []
            if role is Role.OWNER:
                # Transfer. Order matters: there is never a second owner row (a unique
                # index forbids it), and under row-level security the old owner still
                # holds collectives.owner_id while handing the role over.
                conn.execute(t.members.update()
                             .where(t.members.c.collective_id == coll.id,
                                    t.members.c.member_id == coll.owner_id)
                             .values(role=Role.ADMIN.value))
                events.append({"action": "member.role_changed", "collective_id": coll.id,
                               "old": {"user_id": str(coll.owner_id), "role": "owner"},
                               "new": {"user_id": str(coll.owner_id), "role": "admin"}})
            conn.execute(t.members.update().where(t.members.c.id == target.id)
                         .values(role=role.value))
            if role is Role.OWNER:
                conn.execute(t.collectives.update().where(t.collectives.c.id == coll.id)
                             .values(owner_id=user.id, updated_at=self._now()))
            events.append({"action": "member.role_changed", "collective_id": coll.id,
                           "old": {"username": username, "role": target.role},
                           "new": {"username": username, "role": role.value}})
            self._audit(conn, events)
            return Member(username=username, display_name=user.display_name or "", role=role,
                          joined_at=target.created_at)

    def remove_member(self, slug: str, username: str) -> None:
        with self._tx() as conn:
            coll, my_role, user, target = self._existing_member(conn, slug, username)
            decision = permissions.can_remove_member(
                actor_role=my_role, target_role=Role(target.role),
                is_self=user.id == self._user_id)
            if not decision:
                raise PermissionDenied(decision.reason or "", collective=slug)
            conn.execute(t.members.delete().where(t.members.c.id == target.id))
            self._audit(conn, [{"action": "member.removed", "collective_id": coll.id,
                                "old": {"username": username, "role": target.role}}])

    def feed(self, slug: str, *, limit: int = 50) -> list[PostSummary]:
        with self._tx(read_only=True) as conn:
            coll, _ = self._membership(conn, slug)
            rows = conn.execute(
                R.summary_select()
                .join(t.shares, t.shares.c.post_id == t.posts.c.id)
                .where(t.shares.c.collective_id == coll.id,
                       t.shares.c.status == ShareStatus.PUBLISHED.value,
                       t.posts.c.status == PostStatus.PUBLISHED.value,
                       self._readable_clause())
                .order_by(t.shares.c.shared_at.desc())
                .limit(limit)
            ).all()
            return R.summaries(conn, rows, self._user_id)
