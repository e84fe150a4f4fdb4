"""The SQL store: every use case as one transaction on SQLite or PostgreSQL.

Rules come from `post001.core.permissions` and `post001.core.publishing`; this module
only gathers facts, asks them, and writes. Statements are set-based so publishing to
N collectives costs the same number of round trips as publishing to one.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pydantic
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from post001.core import permissions, publishing
from post001.core.clock import Clock, as_utc, utcnow
from post001.core.config import FeatureFlags, Settings
from post001.core.errors import (
    ConflictError,
    DatabaseError,
    NotFoundError,
    PermissionDenied,
    Post001Error,
    ValidationError,
)
from post001.core.models import (
    AuditEvent,
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    Post,
    PostCreate,
    PostStatus,
    PostSummary,
    PostUpdate,
    Preflight,
    PublishResult,
    RejectionReason,
    ReviewItem,
    Revision,
    Role,
    Share,
    ShareOutcome,
    ShareStatus,
    User,
    UserCreate,
)
from post001.core.revisions import revisions_to_keep, should_prune
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.drafts import DraftWriter
from post001.core.sql.engine import READ_ONLY, make_engine
from post001.core.sql.schema import ensure_schema
from post001.core.store import CollectiveSort, Store
from post001.core.text import excerpt, post_slug
from post001.core.validation import check_content, parse

_ROLE_RANK_SQL = sa.case(
    {role.value: i for i, role in enumerate(Role)}, value=t.members.c.role, else_=99
)
_MEMBER_COUNT = (
    sa.select(sa.func.count())
    .select_from(t.members.alias("mc"))
    .where(sa.literal_column("mc.collective_id") == t.collectives.c.id)
    .scalar_subquery()
)
_SHARE_FIELDS_RESET = {"decided_by": None, "decided_at": None, "rejection_reason": None}
#: Share statuses a moderator decides on (and so may read the post for).
_AWAITING = (ShareStatus.PENDING_APPROVAL.value, ShareStatus.REJECTED.value)


def _targets_query(member_count: sa.ColumnElement[Any]) -> sa.Select[Any]:
    mine = t.members.alias("mine")
    decider = t.users.alias("decider")
    return (
        sa.select(t.shares.c.collective_id, t.shares.c.status, t.shares.c.display_order,
                  t.shares.c.shared_by, t.shares.c.shared_at, t.shares.c.decided_at,
                  t.shares.c.rejection_reason,
                  t.collectives.c.slug, t.collectives.c.name.label("cname"),
                  t.collectives.c.require_approval, mine.c.role,
                  decider.c.username.label("decider"), member_count.label("member_count"))
        .join(t.collectives, t.collectives.c.id == t.shares.c.collective_id)
        .outerjoin(mine, sa.and_(mine.c.collective_id == t.shares.c.collective_id,
                                 mine.c.member_id == sa.bindparam("as_user")))
        .outerjoin(decider, decider.c.id == t.shares.c.decided_by)
        .where(t.shares.c.post_id == sa.bindparam("post_id"))
        .order_by(t.shares.c.display_order, t.collectives.c.name)
    )


# Statements on the publish and save paths, built once: constructing a select with
# aliases costs more than running it on SQLite.
_POST_BY_ID = R.post_select().where(t.posts.c.id == sa.bindparam("post_id"))
_POST_BY_ID_FOR_UPDATE = _POST_BY_ID.with_for_update(of=t.posts)
_TARGETS = _targets_query(sa.literal(0))
_TARGETS_WITH_COUNTS = _targets_query(_MEMBER_COUNT)
_INSERT_AUDIT = t.audit.insert()
_UPDATE_POST = t.posts.update().where(t.posts.c.id == sa.bindparam("b_post_id"))
# Share updates avoid an expanding IN list, which is slow to render: one executemany
# (psycopg pipelines it) plus one UPDATE of the remaining drafts, whatever N is.
_UPDATE_SHARE = t.shares.update().where(
    t.shares.c.post_id == sa.bindparam("b_post_id"),
    t.shares.c.collective_id == sa.bindparam("b_collective_id"))
_UPDATE_DRAFT_SHARES = t.shares.update().where(
    t.shares.c.post_id == sa.bindparam("b_post_id"),
    t.shares.c.status == ShareStatus.DRAFT.value)


def _new_id() -> UUID:
    return uuid.uuid4()


def _like(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlStore(Store):
    def __init__(
        self,
        engine: sa.Engine,
        user_id: UUID,
        *,
        settings: Settings | None = None,
        flags: FeatureFlags | None = None,
        clock: Clock = utcnow,
        owns_engine: bool = True,
    ) -> None:
        self._engine = engine
        self._user_id = user_id
        self._settings = settings or Settings()
        self._flags = flags or FeatureFlags()
        self._clock = clock
        self._owns_engine = owns_engine
        self._pg = engine.dialect.name == "postgresql"
        #: Set by the server per request so audit events name the HTTP request.
        self.request_id: str | None = None
        self._drafts = DraftWriter(engine)
        self.location = engine.url.render_as_string(hide_password=True)

    @property
    def user_id(self) -> UUID:
        return self._user_id

    # --- plumbing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self, *, read_only: bool = False, as_user: UUID | None = None
            ) -> Iterator[sa.Connection]:
        """One use case, one transaction; database failures become DatabaseError."""
        try:
            conn_cm = self._engine.connect()
            with conn_cm as conn:
                if read_only:
                    conn = conn.execution_options(**{READ_ONLY: True})
                with conn.begin():
                    if self._pg:
                        # Row-level security reads the acting user from here (tx-local).
                        conn.execute(
                            sa.text("SELECT set_config('post001.user_id', :uid, true)"),
                            {"uid": str(as_user or self._user_id)},
                        )
                    yield conn
        except Post001Error:
            raise
        except sa_exc.IntegrityError as err:
            raise ConflictError(
                "That change clashes with another one saved at the same moment; try again.",
                current_version=0,
                details={"reason": str(err.orig)[:200]},
            ) from err
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
            raise DatabaseError(f"The database is unavailable: {str(err.orig)[:200]}") from err
        except sa_exc.DBAPIError as err:
            raise DatabaseError(f"The database refused the request: {str(err.orig)[:200]}"
                                ) from err
        except sa_exc.StatementError as err:
            # A value that could not even be sent (the models should have caught it).
            raise ValidationError(f"A value could not be stored: {str(err.orig)[:200]}"
                                  ) from err

    def _now(self) -> datetime:
        return as_utc(self._clock())

    def _audit(self, conn: sa.Connection, events: list[dict[str, Any]],
               actor: UUID | None = None) -> None:
        if not events:
            return
        now = self._now()
        request_id = self.request_id or uuid.uuid4().hex
        conn.execute(
            _INSERT_AUDIT,
            [
                {
                    "id": _new_id(),
                    # A microsecond apart, so events read back in the order they happened.
                    "at": now + timedelta(microseconds=i),
                    "actor_id": actor or self._user_id,
                    "action": e["action"],
                    "post_id": e.get("post_id"),
                    "collective_id": e.get("collective_id"),
                    "old_values": e.get("old"),
                    "new_values": e.get("new"),
                    "request_id": request_id,
                }
                for i, e in enumerate(events)
            ],
        )

    def _user_by_name(self, conn: sa.Connection, username: str) -> Any:
        row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"There is no user named {username!r}.", field="username")
        return row

    def _membership(self, conn: sa.Connection, slug: str) -> tuple[Any, Role]:
        """The collective and my role in it; NotFound for non-members (no leak)."""
        row = conn.execute(
            sa.select(t.collectives, t.members.c.role)
            .join(t.members, sa.and_(t.members.c.collective_id == t.collectives.c.id,
                                     t.members.c.member_id == self._user_id))
            .where(t.collectives.c.slug == slug)
        ).first()
        if row is None:
            raise NotFoundError(f"No collective {slug!r} among yours.", collective=slug)
        return row, Role(row.role)

    def _post_row(self, conn: sa.Connection, post_id: UUID, *, lock: bool = False) -> Any:
        q = _POST_BY_ID_FOR_UPDATE if lock and self._pg else _POST_BY_ID
        row = conn.execute(q, {"post_id": post_id}).first()
        if row is None:
            raise NotFoundError(f"No post {post_id}.", field="post_id")
        return row

    def _own_post(self, conn: sa.Connection, post_id: UUID, *, lock: bool = False) -> Any:
        row = self._post_row(conn, post_id, lock=lock)
        if row.author_id != self._user_id:
            if self._readable(conn, row):
                raise PermissionDenied(permissions.can_edit_post(is_author=False).reason
                                       or "not allowed")
            raise NotFoundError(f"No post {post_id}.", field="post_id")
        return row

    def _readable(self, conn: sa.Connection, row: Any) -> bool:
        """permissions.can_read_post for one post, with the reader's standing gathered
        in one query."""
        member_where_published = moderator_where_pending = False
        if row.author_id != self._user_id and row.status == PostStatus.PUBLISHED:
            for status, role in conn.execute(
                sa.select(t.shares.c.status, t.members.c.role)
                .join(t.members, t.members.c.collective_id == t.shares.c.collective_id)
                .where(t.shares.c.post_id == row.id, t.members.c.member_id == self._user_id)
            ):
                member_where_published |= status == ShareStatus.PUBLISHED
                moderator_where_pending |= (status in _AWAITING
                                            and Role(role) in permissions.MODERATORS)
        return permissions.can_read_post(
            is_author=row.author_id == self._user_id,
            status=PostStatus(row.status),
            is_public=bool(row.is_public),
            member_where_published=member_where_published,
            moderator_where_pending=moderator_where_pending,
        )

    def _readable_clause(self) -> sa.ColumnElement[bool]:
        """SQL twin of permissions.can_read_post, for lists (the contract suite checks
        that it agrees with get_post)."""
        standing = (
            sa.select(sa.literal(1))
            .select_from(t.shares)
            .join(t.members, t.members.c.collective_id == t.shares.c.collective_id)
            .where(t.shares.c.post_id == t.posts.c.id,
                   t.members.c.member_id == self._user_id,
                   sa.or_(t.shares.c.status == ShareStatus.PUBLISHED.value,
                          sa.and_(t.shares.c.status.in_(_AWAITING),
                                  t.members.c.role.in_(
                                      [r.value for r in permissions.MODERATORS]))))
            .exists()
        )
        return sa.or_(
            t.posts.c.author_id == self._user_id,
            sa.and_(t.posts.c.status == PostStatus.PUBLISHED.value,
                    sa.or_(t.posts.c.is_public.is_(True), standing)),
        )

    def _post_out(self, conn: sa.Connection, post_id: UUID) -> Post:
        row = self._post_row(conn, post_id)
        return R.to_post(row, R.load_shares(conn, [row], self._user_id)[row.id])

    def _targets(self, conn: sa.Connection, post_id: UUID, *, as_user: UUID,
                 counts: bool = True) -> list[tuple[Any, publishing.Target]]:
        """The post's shares (every column, plus who decided) with the author's standing
        in each collective. Member counts only when the caller needs the reach."""
        q = _TARGETS_WITH_COUNTS if counts else _TARGETS
        rows = conn.execute(q, {"post_id": post_id, "as_user": as_user}).all()
        return [
            (r, publishing.Target(slug=r.slug, name=r.cname,
                                  role=Role(r.role) if r.role else None,
                                  require_approval=bool(r.require_approval),
                                  member_count=int(r.member_count)))
            for r in rows
        ]

    def _resolve(self, conn: sa.Connection, slugs: Sequence[str]) -> dict[str, Any]:
        """slug -> collective row with my role; unknown or not-mine slugs are errors."""
        wanted = list(dict.fromkeys(slugs))
        if not wanted:
            return {}
        rows = conn.execute(
            sa.select(t.collectives.c.id, t.collectives.c.slug, t.collectives.c.name,
                      t.collectives.c.require_approval, t.members.c.role)
            .join(t.members, sa.and_(t.members.c.collective_id == t.collectives.c.id,
                                     t.members.c.member_id == self._user_id))
            .where(t.collectives.c.slug.in_(wanted))
        ).all()
        found = {r.slug: r for r in rows}
        missing = [s for s in wanted if s not in found]
        if missing:
            names = ", ".join(repr(s) for s in missing)
            raise NotFoundError(f"No collective {names} among yours.", collective=missing[0],
                                details={"collectives": missing})
        return {s: found[s] for s in wanted}

    def _check_selection(self, count: int) -> None:
        max_collectives = self._settings.max_collectives_per_post
        if count > max_collectives:
            raise ValidationError(
                f"collectives: {count} selected; the limit is {max_collectives} per post.",
                field="collectives", details={"limit": max_collectives, "size": count},
            )
        if count > 1 and not self.multi_collective():
            raise ValidationError(
                "collectives: sharing to several collectives is not enabled for you yet; "
                "pick one.",
                field="collectives", details={"limit": 1, "size": count},
            )

    # --- identity ------------------------------------------------------------------------

    def me(self) -> User:
        with self._tx(read_only=True) as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.id == self._user_id)).one()
            return _user(row)

    def flags(self) -> FeatureFlags:
        return self._flags

    def multi_collective(self) -> bool:
        return self._flags.multi_collective_for(self._user_id)

    def limits(self) -> tuple[int, int]:
        return self._settings.max_collectives_per_post, self._settings.max_content_chars

    def add_user(self, username: str, display_name: str = "") -> User:
        data = parse(UserCreate, {"username": username, "display_name": display_name})
        with self._tx() as conn:
            return _insert_user(conn, data, self._now())

    def list_users(self) -> list[User]:
        with self._tx(read_only=True) as conn:
            return [_user(r) for r in
                    conn.execute(sa.select(t.users).order_by(t.users.c.username))]

    # --- collectives ---------------------------------------------------------------------

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
        if query.strip():
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
                R.post_select()
                .join(t.shares, t.shares.c.post_id == t.posts.c.id)
                .where(t.shares.c.collective_id == coll.id,
                       t.shares.c.status == ShareStatus.PUBLISHED.value,
                       t.posts.c.status == PostStatus.PUBLISHED.value,
                       self._readable_clause())
                .order_by(t.shares.c.shared_at.desc())
                .limit(limit)
            ).all()
            return R.summaries(conn, rows, self._user_id)

    # --- posts ---------------------------------------------------------------------------

    def create_post(self, data: PostCreate | None = None) -> Post:
        data = parse(PostCreate, data) if data is not None else PostCreate()
        check_content(data.content, self._settings.max_content_chars)
        slugs = list(dict.fromkeys(data.collectives))
        self._check_selection(len(slugs))
        post_id = _new_id()
        now = self._now()
        with self._tx() as conn:
            targets = self._resolve(conn, slugs)
            legacy_collective = (next(iter(targets.values())).id
                                 if targets and not self.multi_collective() else None)
            conn.execute(t.posts.insert().values(
                id=post_id, author_id=self._user_id, collective_id=legacy_collective,
                title=data.title, subtitle=data.subtitle, byline=data.byline,
                content=data.content, post_type=data.post_type.value,
                is_public=data.is_public, seo_title=data.seo_title,
                meta_description=data.meta_description, thumbnail_url=data.thumbnail_url,
                metadata=data.metadata, slug=post_slug(data.title, post_id),
                status=PostStatus.DRAFT.value,
                publish_at=data.publish_at, created_at=now, updated_at=now, version=1,
            ))
            conn.execute(t.revisions.insert().values(
                id=_new_id(), post_id=post_id, version=1, title=data.title,
                subtitle=data.subtitle, content=data.content, saved_at=now))
            self._insert_shares(conn, post_id, targets, ShareStatus.DRAFT, now, start=0)
            self._audit(conn, [
                {"action": "post.created", "post_id": post_id,
                 "new": {"title": data.title, "status": "draft"}},
                *({"action": "share.added", "post_id": post_id, "collective_id": c.id,
                   "new": {"status": "draft"}} for c in targets.values()),
            ])
            return self._post_out(conn, post_id)

    def _insert_shares(self, conn: sa.Connection, post_id: UUID, targets: dict[str, Any],
                       status: ShareStatus | dict[str, ShareStatus], now: datetime,
                       start: int) -> None:
        if not targets:
            return
        conn.execute(t.shares.insert(), [
            {
                "id": _new_id(), "post_id": post_id, "collective_id": c.id,
                "status": (status[slug] if isinstance(status, dict) else status).value,
                "shared_by": self._user_id, "shared_at": now, "display_order": start + i,
                "decided_by": None, "decided_at": None, "rejection_reason": None,
                "metadata": None,
            }
            for i, (slug, c) in enumerate(targets.items())
        ])

    def get_post(self, post_id: UUID) -> Post:
        with self._tx(read_only=True) as conn:
            row = self._post_row(conn, post_id)
            if not self._readable(conn, row):
                raise NotFoundError(f"No post {post_id}.", field="post_id")
            return R.to_post(row, R.load_shares(conn, [row], self._user_id)[row.id])

    def list_posts(self, status: PostStatus | None = None) -> list[PostSummary]:
        q = R.post_select().where(t.posts.c.author_id == self._user_id)
        if status is not None:
            q = q.where(t.posts.c.status == PostStatus(status).value)
        q = q.order_by(t.posts.c.updated_at.desc())
        with self._tx(read_only=True) as conn:
            return R.summaries(conn, conn.execute(q).all(), self._user_id)

    def update_post(self, post_id: UUID, changes: PostUpdate, *, expected_version: int) -> Post:
        values = self._writable(changes)
        with self._tx() as conn:
            self._save(conn, post_id, values, expected_version)
            return self._post_out(conn, post_id)

    def save_draft(self, post_id: UUID, changes: PostUpdate, *, expected_version: int) -> int:
        values = self._writable(changes)
        if "publish_at" in values:
            # Rescheduling needs the post's status: the general path checks it.
            with self._tx() as conn:
                return int(self._save(conn, post_id, values, expected_version).version)
        if "title" in values:
            values["slug"] = post_slug(values["title"], post_id)
        try:
            version = self._drafts.save(post_id, self._user_id, values, expected_version,
                                        self._now())
        except sa_exc.DBAPIError as err:
            raise DatabaseError(f"The database refused the save: {str(err.orig)[:200]}") from err
        except Exception as err:  # the driver's own errors, outside SQLAlchemy's wrapping
            if isinstance(err, Post001Error):
                raise
            raise DatabaseError(f"The database refused the save: {str(err)[:200]}") from err
        if version is None:
            # Not the common case (published, stale, missing): the general path decides.
            values.pop("slug", None)
            with self._tx() as conn:
                version = int(self._save(conn, post_id, values, expected_version).version)
        if should_prune(version):
            with self._tx() as conn:
                self._prune_revisions(conn, post_id)
        return version

    def _writable(self, changes: PostUpdate | dict[str, Any]) -> dict[str, Any]:
        """The columns a partial update writes, validated."""
        values = parse(PostUpdate, changes).model_dump(exclude_unset=True)
        for key in ("title", "subtitle", "byline", "content", "seo_title",
                    "meta_description", "post_type", "is_public", "metadata"):
            if key in values and values[key] is None:
                raise ValidationError(f"{key}: may not be empty (null).", field=key)
        if "content" in values:
            check_content(values["content"], self._settings.max_content_chars)
        if "post_type" in values:
            values["post_type"] = values["post_type"].value
        return values

    def _save(self, conn: sa.Connection, post_id: UUID, values: dict[str, Any],
              expected_version: int) -> Any:
        """One optimistic write: only if the stored version is the one the writer saw."""
        now = self._now()
        values = dict(values)
        text_changed = bool({"title", "subtitle", "content"} & values.keys())
        if "title" in values:
            # The slug follows the title until the post is first published.
            values["slug"] = sa.case(
                (t.posts.c.published_at.is_(None), post_slug(values["title"], post_id)),
                else_=t.posts.c.slug,
            )
        result = conn.execute(
            t.posts.update()
            .where(t.posts.c.id == post_id, t.posts.c.author_id == self._user_id,
                   t.posts.c.version == expected_version)
            .values(**values, version=t.posts.c.version + 1, updated_at=now)
            .returning(t.posts.c.version, t.posts.c.status, t.posts.c.publish_at)
        ).first()
        if result is None:
            current = self._own_post(conn, post_id)
            raise ConflictError(
                f"This post was changed elsewhere (it is at version {current.version}; "
                f"your changes were based on version {expected_version}).",
                current_version=current.version,
            )
        if result.status == PostStatus.SCHEDULED and result.publish_at is None:
            # Rolls the whole write back: a scheduled post without a time would never go out.
            raise ValidationError("publish_at: a scheduled post needs a time; unpublish it "
                                  "to return it to draft instead.", field="publish_at")
        # Revision snapshots are taken by the database (migration 0005) as rows change.
        if should_prune(result.version):
            self._prune_revisions(conn, post_id)
        if text_changed and result.status == PostStatus.PUBLISHED:
            self._audit(conn, [{"action": "post.edited", "post_id": post_id,
                                "new": {"version": result.version}}])
        return result

    def _snapshot(self, conn: sa.Connection, post: Any) -> None:
        exists = conn.execute(sa.select(t.revisions.c.id).where(
            t.revisions.c.post_id == post.id, t.revisions.c.version == post.version)).first()
        if exists is None:
            conn.execute(t.revisions.insert().values(
                id=_new_id(), post_id=post.id, version=post.version, title=post.title or "",
                subtitle=post.subtitle or "", content=post.content or "",
                saved_at=post.updated_at))

    def _prune_revisions(self, conn: sa.Connection, post_id: UUID) -> None:
        rows = conn.execute(sa.select(t.revisions.c.version, t.revisions.c.saved_at)
                            .where(t.revisions.c.post_id == post_id)).all()
        keep = revisions_to_keep((r.version, r.saved_at) for r in rows)
        drop = [r.version for r in rows if r.version not in keep]
        if drop:
            conn.execute(t.revisions.delete().where(t.revisions.c.post_id == post_id,
                                                    t.revisions.c.version.in_(drop)))

    def archive_post(self, post_id: UUID) -> Post:
        with self._tx() as conn:
            row = self._own_post(conn, post_id, lock=True)
            if row.status != PostStatus.ARCHIVED:
                conn.execute(t.posts.update().where(t.posts.c.id == post_id).values(
                    status=PostStatus.ARCHIVED.value, version=row.version + 1,
                    updated_at=self._now()))
                self._audit(conn, [{"action": "post.archived", "post_id": post_id,
                                    "old": {"status": row.status},
                                    "new": {"status": "archived"}}])
            return self._post_out(conn, post_id)

    def revisions(self, post_id: UUID) -> list[Revision]:
        with self._tx(read_only=True) as conn:
            post = self._own_post(conn, post_id)
            rows = conn.execute(sa.select(t.revisions).where(
                t.revisions.c.post_id == post_id, t.revisions.c.version < post.version)
                .order_by(t.revisions.c.version.desc())).all()
            current = Revision(post_id=post_id, version=post.version, title=post.title or "",
                               subtitle=post.subtitle or "", content=post.content or "",
                               saved_at=post.updated_at)
            return [current, *(Revision(post_id=r.post_id, version=r.version, title=r.title,
                                        subtitle=r.subtitle, content=r.content,
                                        saved_at=r.saved_at) for r in rows)]

    def restore_revision(self, post_id: UUID, version: int) -> Post:
        with self._tx() as conn:
            current = self._own_post(conn, post_id, lock=True)
            rev = conn.execute(sa.select(t.revisions).where(
                t.revisions.c.post_id == post_id, t.revisions.c.version == version)).first()
            if rev is None:
                raise NotFoundError(f"Post {post_id} has no revision {version}.",
                                    field="version")
            # Keep the text being replaced, however recent the last snapshot is.
            self._snapshot(conn, current)
            saved = self._save(conn, post_id, {"title": rev.title, "subtitle": rev.subtitle,
                                               "content": rev.content}, current.version)
            self._audit(conn, [{"action": "post.restored", "post_id": post_id,
                                "new": {"from_version": version, "version": saved.version}}])
            return self._post_out(conn, post_id)

    # --- shares --------------------------------------------------------------------------

    def _status_for(self, target: Any, post_status: str) -> ShareStatus | None:
        if post_status != PostStatus.PUBLISHED:
            return ShareStatus.DRAFT
        return permissions.share_status_on_publish(
            role=Role(target.role), require_approval=bool(target.require_approval))

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
        """Keep the legacy posts.collective_id that older readers use truthful: cleared
        when its share goes, and in the legacy one-collective flow, the selection."""
        current = post.collective_id
        target = current
        if current is not None and current in removed:
            target = None
        if selected is not None and not self.multi_collective():
            target = next(iter(selected), None)
        if target != current:
            conn.execute(t.posts.update().where(t.posts.c.id == post.id)
                         .values(collective_id=target))

    # --- publishing ----------------------------------------------------------------------

    def preflight(self, post_id: UUID) -> Preflight:
        with self._tx(read_only=True) as conn:
            post = self._own_post(conn, post_id)
            targets = self._targets(conn, post.id, as_user=post.author_id)
            return self._plan(post, [target for _, target in targets])

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
            post = self._own_post(conn, post_id, lock=True)
            result = self._publish_locked(conn, post, actor=self._user_id)
            if idempotency_key is not None:
                conn.execute(t.idempotency.insert().values(
                    user_id=self._user_id, key=idempotency_key, post_id=post_id,
                    response=result.model_dump(mode="json"), created_at=self._now()))
            return result

    def _publish_locked(self, conn: sa.Connection, post: Any, *, actor: UUID,
                        via_scheduler: bool = False) -> PublishResult:
        """Publish (or schedule) a post whose row this transaction holds.

        A fixed number of statements whatever the number of collectives: read the
        shares once, update the post, one UPDATE per resulting share status, one
        multi-row audit INSERT; the answer is built from what was written."""
        now = self._now()
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
        events: list[dict[str, Any]] = []
        extra = {"via": "scheduler"} if via_scheduler else {}
        changes: dict[str, Any] = {"version": post.version + 1, "updated_at": now}
        new_status: dict[UUID, ShareStatus] = {}
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
                if others:
                    conn.execute(_UPDATE_SHARE, others)
                conn.execute(_UPDATE_DRAFT_SHARES,
                             {"b_post_id": post.id, "status": common.value, **shared})
            events.extend({"action": "share.status_changed", "post_id": post.id,
                           "collective_id": cid, "old": {"status": "draft"},
                           "new": {"status": status.value, **extra}}
                          for cid, status in new_status.items())
        conn.execute(_UPDATE_POST, {"b_post_id": post.id, **changes})
        self._audit(conn, events, actor=actor)
        out_shares = [
            Share(collective_id=row.collective_id, collective=row.slug,
                  collective_name=row.cname, status=new_status[row.collective_id],
                  shared_by=post.author, shared_at=now, display_order=row.display_order)
            if row.collective_id in new_status else
            Share(collective_id=row.collective_id, collective=row.slug,
                  collective_name=row.cname, status=ShareStatus(row.status),
                  shared_by=post.author if row.shared_by == post.author_id else None,
                  shared_at=row.shared_at, display_order=row.display_order,
                  decided_by=row.decider, decided_at=row.decided_at,
                  rejection_reason=row.rejection_reason)
            for row, _ in shares
        ]
        out = R.to_post(SimpleNamespace(**{**post._mapping, **changes}), out_shares)
        return PublishResult(
            post=out,
            scheduled=scheduled,
            outcomes=[ShareOutcome(collective=s.collective, collective_name=s.collective_name,
                                   status=s.status, rejection_reason=s.rejection_reason)
                      for s in out_shares],
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
            due = conn.execute(
                sa.select(t.posts.c.id, t.posts.c.author_id)
                .where(t.posts.c.status == PostStatus.SCHEDULED.value,
                       t.posts.c.publish_at <= now)
                .order_by(t.posts.c.publish_at)
            ).all()
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

    # --- reviews -------------------------------------------------------------------------

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

    # --- audit and search ----------------------------------------------------------------

    def audit(
        self,
        *,
        post_id: UUID | None = None,
        collective: str | None = None,
        actor: str | None = None,
        limit: int = 200,
    ) -> list[AuditEvent]:
        actor_user = t.users.alias("actor")
        mine = t.members.alias("mine")
        q = (
            sa.select(t.audit, actor_user.c.username.label("actor_name"),
                      t.collectives.c.slug.label("collective_slug"),
                      t.posts.c.author_id.label("post_author"), mine.c.role.label("my_role"))
            .outerjoin(actor_user, actor_user.c.id == t.audit.c.actor_id)
            .outerjoin(t.collectives, t.collectives.c.id == t.audit.c.collective_id)
            .outerjoin(t.posts, t.posts.c.id == t.audit.c.post_id)
            .outerjoin(mine, sa.and_(mine.c.collective_id == t.audit.c.collective_id,
                                     mine.c.member_id == self._user_id))
            .where(sa.or_(t.audit.c.actor_id == self._user_id,
                          t.posts.c.author_id == self._user_id,
                          mine.c.role.in_([r.value for r in permissions.MANAGERS])))
            .order_by(t.audit.c.at.desc(), t.audit.c.id)
            .limit(max(1, min(limit, 1000)))
        )
        with self._tx(read_only=True) as conn:
            if post_id is not None:
                q = q.where(t.audit.c.post_id == post_id)
            if collective is not None:
                coll, _ = self._membership(conn, collective)
                q = q.where(t.audit.c.collective_id == coll.id)
            if actor is not None:
                q = q.where(t.audit.c.actor_id == self._user_by_name(conn, actor).id)
            events = []
            for r in conn.execute(q):
                if not permissions.can_read_audit(
                        is_actor=r.actor_id == self._user_id,
                        is_post_author=r.post_author == self._user_id,
                        role=Role(r.my_role) if r.my_role else None):
                    continue
                events.append(AuditEvent(
                    id=r.id, at=r.at, actor=r.actor_name, action=r.action, post_id=r.post_id,
                    collective=r.collective_slug, old=r.old_values, new=r.new_values,
                    request_id=r.request_id))
            return events

    def search(self, query: str, *, limit: int = 50) -> list[PostSummary]:
        query = query.strip()
        if not query:
            return []
        limit = max(1, min(limit, 200))
        with self._tx(read_only=True) as conn:
            if self._pg:
                tsq = sa.func.websearch_to_tsquery("english", query)
                vector: sa.ColumnElement[Any] = sa.literal_column("posts.search_vector")
                q = (R.post_select()
                     .where(t.posts.c.status == PostStatus.PUBLISHED.value,
                            vector.op("@@")(tsq), self._readable_clause())
                     .order_by(sa.func.ts_rank(vector, tsq).desc()).limit(limit))
                rows = conn.execute(q).all()
            else:
                match = _fts5_query(query)
                if not match:
                    return []
                q = (R.post_select()
                     .join(sa.table("posts_fts"),
                           sa.literal_column("posts_fts.rowid") == sa.literal_column(
                               "posts.rowid"))
                     .where(sa.literal_column("posts_fts").op("MATCH")(match),
                            t.posts.c.status == PostStatus.PUBLISHED.value,
                            self._readable_clause())
                     .order_by(sa.text("bm25(posts_fts)")).limit(limit))
                rows = conn.execute(q).all()
            return R.summaries(conn, rows, self._user_id)

    def close(self) -> None:
        self._drafts.close()
        if self._owns_engine:
            self._engine.dispose()


def _fts5_query(text: str) -> str:
    """Any user text as a safe FTS5 query: every word must match; the last one as a prefix."""
    words = [w.replace('"', '""') for w in text.split()]
    words = [w for w in words if any(ch.isalnum() for ch in w)]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, display_name=row.display_name or "",
                created_at=row.created_at)


def _insert_user(conn: sa.Connection, data: UserCreate, now: datetime) -> User:
    taken = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == data.username)
                         ).first()
    if taken:
        raise ValidationError(f"username: {data.username!r} is already taken.",
                              field="username")
    uid = _new_id()
    conn.execute(t.users.insert().values(id=uid, username=data.username,
                                         display_name=data.display_name, created_at=now))
    return User(id=uid, username=data.username, display_name=data.display_name,
                created_at=now)


def open_sql_store(
    url: str,
    username: str,
    *,
    settings: Settings | None = None,
    flags: FeatureFlags | None = None,
    clock: Clock = utcnow,
    create_user: bool = True,
    engine: sa.Engine | None = None,
    migrate: bool = True,
) -> SqlStore:
    """Open (creating and migrating on first use) a database and act as `username`."""
    owns_engine = engine is None
    engine = engine or make_engine(url)
    try:
        if migrate:
            ensure_schema(engine)
        with engine.begin() as conn:
            row = conn.execute(sa.select(t.users.c.id).where(t.users.c.username == username)
                               ).first()
            if row is None:
                if not create_user:
                    raise NotFoundError(f"There is no user named {username!r}.",
                                        field="username")
                user = _insert_user(conn, parse(UserCreate, {"username": username}),
                                    as_utc(clock()))
                user_id = user.id
            else:
                user_id = row.id
    except Post001Error:
        if owns_engine:
            engine.dispose()
        raise
    except sa_exc.SQLAlchemyError as err:
        if owns_engine:
            engine.dispose()
        raise DatabaseError(f"Cannot open the database at "
                            f"{engine.url.render_as_string(hide_password=True)}: "
                            f"{str(getattr(err, 'orig', err))[:200]}") from err
    return SqlStore(engine, user_id, settings=settings, flags=flags, clock=clock,
                    owns_engine=owns_engine)
