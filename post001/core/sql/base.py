"""What every part of the SQL store shares: connections and transactions, the audit
writer, and the lookups that gather facts for the permission rules.

The store itself (`post001.core.sql.store.SqlStore`) is this base plus one mixin per
area (collectives, posts, sharing, publishing, reviews, activity). Rules come from
`post001.core.permissions` and `post001.core.publishing`; these modules only gather
facts, ask them, and write. Statements are set-based, so publishing to N collectives
costs the same number of round trips as publishing to one.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

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
    Post,
    PostStatus,
    Role,
    ShareStatus,
    User,
    UserCreate,
)
from post001.core.sql import direct
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.drafts import DraftWriter
from post001.core.sql.engine import begin_as
from post001.core.sql.listing import ListingReader
from post001.core.store import Store
from post001.core.validation import check_text, parse

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
_AUDIT_COLUMNS = ("id", "at", "actor_id", "action", "post_id", "collective_id",
                  "old_values", "new_values", "request_id")
_UPDATE_POST = t.posts.update().where(t.posts.c.id == sa.bindparam("b_post_id"))
# Share updates avoid an expanding IN list, which is slow to render: one executemany
# (psycopg pipelines it) plus one UPDATE of the remaining drafts, whatever N is.
_UPDATE_SHARE = t.shares.update().where(
    t.shares.c.post_id == sa.bindparam("b_post_id"),
    t.shares.c.collective_id == sa.bindparam("b_collective_id"))
_UPDATE_DRAFT_SHARES = t.shares.update().where(
    t.shares.c.post_id == sa.bindparam("b_post_id"),
    t.shares.c.status == ShareStatus.DRAFT.value)


def _target_pairs(rows: Sequence[Any]) -> list[tuple[Any, publishing.Target]]:
    """Rows of the targets query with what the publishing rules need of each."""
    return [
            (r, publishing.Target(slug=r.slug, name=r.cname,
                                  role=Role(r.role) if r.role else None,
                                  require_approval=bool(r.require_approval),
                                  member_count=int(r.member_count)))
            for r in rows
        ]


def _new_id() -> UUID:
    return uuid.uuid4()


def _like(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlBase(Store):
    """Plumbing and fact-gathering shared by every area of the store."""

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
        self._adopted: sa.Connection | None = None
        self._listing = ListingReader(engine.dialect)
        self._direct = direct.statements(engine.dialect)
        self.location = engine.url.render_as_string(hide_password=True)

    @property
    def user_id(self) -> UUID:
        return self._user_id

    def adopt(self, conn: sa.Connection) -> None:
        """Run the next use case in this already open transaction (the server's request
        transaction, whose first statement checked the token and set this user), rather
        than in one of its own; it is committed and the connection closed at its end."""
        self._adopted = conn

    @contextlib.contextmanager
    def _tx(self, *, read_only: bool = False, as_user: UUID | None = None
            ) -> Iterator[sa.Connection]:
        """One use case, one transaction; database failures become DatabaseError."""
        with self._errors():
            adopted, self._adopted = self._adopted, None
            if adopted is not None and (as_user is None or as_user == self._user_id):
                with adopted:
                    yield adopted
                    adopted.commit()
            else:
                if adopted is not None:
                    adopted.close()
                with begin_as(self._engine, as_user or self._user_id,
                              read_only=read_only) as (conn, _):
                    yield conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Database failures as the store's errors (DatabaseError, ConflictError...)."""
        try:
            yield
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
        except sa_exc.TimeoutError as err:  # every pooled connection stayed busy
            raise DatabaseError("The database is busy (no free connection); try again "
                                "shortly.") from err
        except sa_exc.DataError as err:
            # A value the database cannot hold (the models should have caught it): the
            # caller's input, not an outage, so never a 503 that invites retries.
            raise ValidationError(f"A value could not be stored: {str(err.orig)[:200]}"
                                  ) from err
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
        direct.run_many(
            conn, self._direct.get("audit", _INSERT_AUDIT, _AUDIT_COLUMNS),
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
        check_text("username", username)
        row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"There is no user named {username!r}.", field="username")
        return row

    def _membership(self, conn: sa.Connection, slug: str) -> tuple[Any, Role]:
        """The collective and my role in it; NotFound for non-members (no leak)."""
        check_text("collective", slug)
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
        q = (self._direct.get("targets+counts", _TARGETS_WITH_COUNTS) if counts
             else self._direct.get("targets", _TARGETS))
        return _target_pairs(direct.run(conn, q, {"post_id": post_id, "as_user": as_user}))

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

    def _status_for(self, target: Any, post_status: str) -> ShareStatus | None:
        if post_status != PostStatus.PUBLISHED:
            return ShareStatus.DRAFT
        return permissions.share_status_on_publish(
            role=Role(target.role), require_approval=bool(target.require_approval))

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

    def close(self) -> None:
        if self._adopted is not None:
            self._adopted.close()  # never used: rolled back
            self._adopted = None
        self._drafts.close()
        if self._owns_engine:
            self._engine.dispose()



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
