"""Reading across posts: the audit trail and full-text search."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa

from post001.core import permissions
from post001.core.models import (
    AuditEvent,
    PostStatus,
    PostSummary,
    Role,
)
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.base import (
    SqlBase,
)
from post001.core.validation import check_text

# permissions.is_draft_selection in SQL, so the page limit counts only readable events.
_DRAFT_SELECTION = sa.or_(
    sa.and_(t.audit.c.action == "share.added",
            sa.func.coalesce(t.audit.c.new_values["status"].as_string(), "") == "draft"),
    sa.and_(t.audit.c.action == "share.removed",
            sa.func.coalesce(t.audit.c.old_values["status"].as_string(), "") == "draft"),
)


class ActivityMixin(SqlBase):
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
                          sa.and_(mine.c.role.in_([r.value for r in permissions.MANAGERS]),
                                  sa.not_(_DRAFT_SELECTION))))
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
                        role=Role(r.my_role) if r.my_role else None,
                        draft_selection=permissions.is_draft_selection(
                            r.action, r.old_values, r.new_values)):
                    continue
                events.append(AuditEvent(
                    id=r.id, at=r.at, actor=r.actor_name, action=r.action, post_id=r.post_id,
                    collective=r.collective_slug, old=r.old_values, new=r.new_values,
                    request_id=r.request_id))
            return events

    def search(self, query: str, *, limit: int = 50) -> list[PostSummary]:
        query = check_text("query", query).strip()
        if not query:
            return []
        limit = max(1, min(limit, 200))
        with self._tx(read_only=True) as conn:
            if self._pg:
                tsq = sa.func.websearch_to_tsquery("english", query)
                vector: sa.ColumnElement[Any] = sa.literal_column("posts.search_vector")
                q = (R.summary_select()
                     .where(t.posts.c.status == PostStatus.PUBLISHED.value,
                            vector.op("@@")(tsq), self._readable_clause())
                     .order_by(sa.func.ts_rank(vector, tsq).desc()).limit(limit))
                rows = conn.execute(q).all()
            else:
                match = _fts5_query(query)
                if not match:
                    return []
                q = (R.summary_select()
                     .join(sa.table("posts_fts"),
                           sa.literal_column("posts_fts.rowid") == sa.literal_column(
                               "posts.rowid"))
                     .where(sa.literal_column("posts_fts").op("MATCH")(match),
                            t.posts.c.status == PostStatus.PUBLISHED.value,
                            self._readable_clause())
                     .order_by(sa.text("bm25(posts_fts)")).limit(limit))
                rows = conn.execute(q).all()
            return R.summaries(conn, rows, self._user_id)



def _fts5_query(text: str) -> str:
    """Any user text as a safe FTS5 query: every word must match; the last one as a prefix."""
    words = [w.replace('"', '""') for w in text.split()]
    words = [w for w in words if any(ch.isalnum() for ch in w)]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)
