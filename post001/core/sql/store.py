"""The SQL store: every use case of post001 as one transaction on SQLite or PostgreSQL.

`SqlStore` is assembled from one mixin per area, each in a module of its own:

    base.py         transactions, audit writing, the lookups the rules need
    collectives.py  collectives, members, roles, the picker's list, feeds
    posts.py        drafts and posts, the auto-save fast path, history
    sharing.py      choosing collectives, adding and removing shares
    publish.py      preflight, atomic idempotent publishing, scheduling, unpublishing
    reviews.py      the review queue: approve, reject, resubmit
    activity.py     the audit trail and full-text search
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from post001.core.clock import Clock, as_utc, utcnow
from post001.core.config import FeatureFlags, Settings
from post001.core.errors import DatabaseError, NotFoundError, Post001Error
from post001.core.models import UserCreate
from post001.core.sql import tables as t
from post001.core.sql.activity import ActivityMixin
from post001.core.sql.base import _insert_user
from post001.core.sql.collectives import CollectivesMixin
from post001.core.sql.engine import make_engine
from post001.core.sql.posts import PostsMixin
from post001.core.sql.publish import PublishMixin
from post001.core.sql.reviews import ReviewsMixin
from post001.core.sql.schema import ensure_schema
from post001.core.sql.sharing import SharingMixin
from post001.core.validation import parse

__all__ = ["SqlStore", "open_sql_store"]


class SqlStore(CollectivesMixin, PostsMixin, SharingMixin, PublishMixin, ReviewsMixin,
               ActivityMixin):
    """Every use case, acting as one user, on one SQLAlchemy engine."""


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
