"""Posts and drafts: create, read, save (the auto-save fast path), archive, history."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from post001.core import permissions
from post001.core.errors import (
    ConflictError,
    DatabaseError,
    NotFoundError,
    Post001Error,
    ValidationError,
)
from post001.core.models import (
    DEFAULT_PAGE_SIZE,
    Post,
    PostCreate,
    PostPage,
    PostStatus,
    PostSummary,
    PostUpdate,
    Revision,
    ShareStatus,
)
from post001.core.paging import check_limit, cut_page, decode_cursor
from post001.core.revisions import revisions_to_keep, should_prune
from post001.core.sql import rows as R
from post001.core.sql import tables as t
from post001.core.sql.base import (
    SqlBase,
    _new_id,
)
from post001.core.text import post_slug, word_count
from post001.core.validation import check_content, parse


class PostsMixin(SqlBase):
    def create_post(self, data: PostCreate | None = None) -> Post:
        data = parse(PostCreate, data) if data is not None else PostCreate()
        check_content(data.content, self._settings.max_content_chars)
        slugs = list(dict.fromkeys(data.collectives))
        self._check_selection(len(slugs))
        if data.id is None:
            return self._insert_post(data, slugs, _new_id())
        try:
            return self._insert_post(data, slugs, data.id)
        except ConflictError:
            # The id is taken: by this same create, applied once already (a retry after a
            # lost answer, or two attempts racing), or by a post this user cannot see.
            return self._created_before(data.id)

    def _created_before(self, post_id: UUID) -> Post:
        with self._tx(read_only=True) as conn:
            row = conn.execute(R.post_select().where(t.posts.c.id == post_id)).first()
            if row is None or row.author_id != self._user_id:
                raise ValidationError(f"id: {post_id} already names another post; make a "
                                      "new id.", field="id")
            return R.to_post(row, R.load_shares(conn, [row], self._user_id)[row.id])

    def _insert_post(self, data: PostCreate, slugs: list[str], post_id: UUID) -> Post:
        now = self._now()
        with self._tx() as conn:
            targets = self._resolve(conn, slugs)
            # Mirrored in every flow (see SharingMixin._sync_legacy_collective).
            legacy_collective = next(iter(targets.values())).id if targets else None
            conn.execute(t.posts.insert().values(
                id=post_id, author_id=self._user_id, collective_id=legacy_collective,
                title=data.title, subtitle=data.subtitle, byline=data.byline,
                content=data.content, post_type=data.post_type.value,
                is_public=data.is_public, seo_title=data.seo_title,
                meta_description=data.meta_description, thumbnail_url=data.thumbnail_url,
                metadata=data.metadata, slug=post_slug(data.title, post_id),
                word_count=word_count(data.content),
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

    def get_post(self, post_id: UUID) -> Post:
        with self._tx(read_only=True) as conn:
            row = self._post_row(conn, post_id)
            if not self._readable(conn, row):
                raise NotFoundError(f"No post {post_id}.", field="post_id")
            return R.to_post(row, R.load_shares(conn, [row], self._user_id)[row.id])

    def list_posts(self, status: PostStatus | None = None) -> list[PostSummary]:
        with self._tx(read_only=True) as conn:
            return self._listing.read(conn, self._user_id, status=status, after=None,
                                      limit=None)

    def posts_page(self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None, *,
                   status: PostStatus | None = None) -> PostPage:
        limit = check_limit(limit)
        after = decode_cursor(cursor) if cursor else None
        if self._adopted is None:
            # On its own: one round trip on PostgreSQL, one statement on SQLite
            # (listing.read_alone).
            with self._errors():
                items = self._listing.read_alone(self._engine, self._user_id,
                                                 status=status, after=after,
                                                 limit=limit + 1)
        else:
            with self._tx(read_only=True) as conn:
                items = self._listing.read(conn, self._user_id, status=status,
                                           after=after, limit=limit + 1)
        page, next_cursor = cut_page(items, limit)
        return PostPage(items=page, next_cursor=next_cursor)

    def delete_post(self, post_id: UUID) -> None:
        with self._tx() as conn:
            row = self._own_post(conn, post_id, lock=True)
            # Unpublishing clears published_at, so the audit trail says whether readers
            # ever had it (it is written in the same transaction as every publish).
            ever_published = row.published_at is not None or conn.execute(
                sa.select(t.audit.c.id).where(t.audit.c.post_id == post_id,
                                              t.audit.c.action == "post.published").limit(1)
            ).first() is not None
            allowed = permissions.can_delete_post(
                is_author=True, status=PostStatus(row.status), ever_published=ever_published)
            if not allowed:
                raise ValidationError(f"Post {post_id} cannot be deleted: {allowed.reason}.",
                                      field="post_id")
            shares = conn.execute(sa.select(t.shares.c.collective_id).where(
                t.shares.c.post_id == post_id)).all()
            conn.execute(t.shares.delete().where(t.shares.c.post_id == post_id))
            conn.execute(t.revisions.delete().where(t.revisions.c.post_id == post_id))
            conn.execute(t.posts.delete().where(t.posts.c.id == post_id))
            self._audit(conn, [
                *({"action": "share.removed", "post_id": post_id,
                   "collective_id": s.collective_id, "old": {"status": "draft"}}
                  for s in shares),
                {"action": "post.deleted", "post_id": post_id,
                 "old": {"title": row.title, "status": row.status}},
            ])

    def update_post(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                    save_id: UUID | None = None) -> Post:
        try:
            values = self._writable(changes)
            with self._tx() as conn:
                self._save(conn, post_id, values, expected_version, save_id)
                return self._post_out(conn, post_id)
        except (ConflictError, ValidationError) as err:
            self._count_failed_save(err)
            raise

    def save_draft(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                   save_id: UUID | None = None) -> int:
        try:
            return self._save_draft(post_id, changes, expected_version, save_id)
        except (ConflictError, ValidationError) as err:
            self._count_failed_save(err)
            raise

    def _count_failed_save(self, err: Post001Error) -> None:
        """Count a save that failed (migration 0011; successful ones count themselves).
        Its own short transaction, since the save's rolled back; best effort."""
        kind = "conflicts" if isinstance(err, ConflictError) else "refused"
        day = self._now().date()
        with contextlib.suppress(Post001Error), self._tx() as conn:
            if self._pg:
                conn.execute(sa.text("SELECT post001_count_failed_save(:day, :kind)"),
                             {"day": day, "kind": kind})
            else:
                c = t.save_counts.c
                conn.execute(
                    sqlite_insert(t.save_counts)
                    .values(day=day, user_id=self._user_id, saves=0,
                            conflicts=int(kind == "conflicts"), refused=int(kind == "refused"))
                    .on_conflict_do_update(index_elements=[c.day, c.user_id],
                                           set_={kind: c[kind] + 1}))

    def _save_draft(self, post_id: UUID, changes: PostUpdate, expected_version: int,
                    save_id: UUID | None) -> int:
        values = self._writable(changes)
        if "publish_at" in values:
            # Rescheduling needs the post's status: the general path checks it.
            with self._tx() as conn:
                return int(self._save(conn, post_id, values, expected_version,
                                      save_id).version)
        if "title" in values:
            values["slug"] = post_slug(values["title"], post_id)
        pruned = False
        try:
            if self._adopted is not None:
                # The server's request transaction: the save and its pruning commit
                # together, before the answer is built.
                with self._tx() as conn:
                    version = self._drafts.save_in(conn, post_id, self._user_id, values,
                                                   expected_version, self._now(), save_id)
                    if version is not None and should_prune(version):
                        self._prune_revisions(conn, post_id)
                        pruned = True
            else:
                version = self._drafts.save(post_id, self._user_id, values,
                                            expected_version, self._now(), save_id)
        except sa_exc.DBAPIError as err:
            raise DatabaseError(f"The database refused the save: {str(err.orig)[:200]}") from err
        except Exception as err:  # the driver's own errors, outside SQLAlchemy's wrapping
            if isinstance(err, Post001Error):
                raise
            raise DatabaseError(f"The database refused the save: {str(err)[:200]}") from err
        if version is None:
            # Not the common case (published, stale, missing): the general path decides
            # (and prunes in its own transaction).
            values.pop("slug", None)
            with self._tx() as conn:
                return int(self._save(conn, post_id, values, expected_version,
                                      save_id).version)
        if should_prune(version) and not pruned:
            # Housekeeping after a save that is already committed: if it fails (no
            # free connection under load), the save must still be answered as saved.
            # An error here once turned a stored save into a 503 (docs/server.md,
            # "Scaling and performance"); history stays bounded by the next prune.
            with contextlib.suppress(Post001Error), self._tx() as conn:
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
            # Stored with the text, in the same write, so listings never count words.
            values["word_count"] = word_count(values["content"])
        if "post_type" in values:
            values["post_type"] = values["post_type"].value
        return values

    def _save(self, conn: sa.Connection, post_id: UUID, values: dict[str, Any],
              expected_version: int, save_id: UUID | None = None) -> Any:
        """One optimistic write: only if the stored version is the one the writer saw.

        A repeat of the save that last wrote the post (same `save_id`) answers with the
        version that save made, writing nothing."""
        now = self._now()
        values = dict(values, last_save_id=save_id,
                      last_save_version=t.posts.c.version + 1)
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
            if save_id is not None and current.last_save_id == save_id:
                return SimpleNamespace(version=current.last_save_version,
                                       status=current.status, publish_at=current.publish_at)
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
                                               "content": rev.content,
                                               "word_count": word_count(rev.content)},
                               current.version)
            self._audit(conn, [{"action": "post.restored", "post_id": post_id,
                                "new": {"from_version": version, "version": saved.version}}])
            return self._post_out(conn, post_id)
