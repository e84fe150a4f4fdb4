"""Writing through an outage: a RemoteStore that keeps writes on this machine while the
server cannot be reached, and sends them when it answers again.

`post001.connect(url, offline=True)` returns an `OfflineStore`. It behaves exactly like
a RemoteStore while the server answers. When a create or a save cannot reach the server,
it goes to the journal (post001.core.journal) instead of failing, and the call answers
as the server will: a save returns the version it will make, a create returns the new
draft under its client-made id. Rules that keep the writer's words safe:

- Never overtake: while a post has entries in the journal, every further save of it goes
  to the journal too, behind them; publishing it first sends them (or is refused).
- Replay in order, each write with the identity that makes a repeat harmless (the
  client-made post id, the save id with If-Match, the publish's idempotency key); an
  entry leaves the journal only once the server acknowledged it.
- A real conflict stops that post's replay (other posts go on) and is reported with both
  texts (`SyncConflict`); the writer's text stays in the journal until `resolve()`.
- A post the server no longer has: the writer's pending text becomes a new draft (a
  `PostRecreated` event), created on the next replay. Nothing typed is dropped.
- Publishing while offline is refused with the reason; `publish_when_online()` queues it
  instead, to fire once, under its idempotency key, after the post's pending saves.
- A token the server refuses (signed out, revoked) stops replay; the entries stay for
  that user on that server and go out when they sign in there again.

A background `Replayer` (started unless `replay_every=None`) replays within a couple of
seconds of the server answering again; `sync()` replays now. The replay pass itself, and
the lock that keeps it to one replayer a journal, are in post001/core/journal_replay.py.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from post001.core import journal as J
from post001.core.errors import (
    ConflictError,
    NetworkError,
    Post001Error,
)
from post001.core.journal_replay import ReplayPass, replay_lock
from post001.core.models import (
    Post,
    PostCreate,
    PostStatus,
    PostType,
    PostUpdate,
    PublishResult,
    User,
)
from post001.core.remote import RemoteStore
from post001.core.sync import (
    REPLAY_INTERVAL,
    Listener,
    PendingChanged,
    Replayer,
    Resolution,
    SyncConflict,
    SyncEvent,
    SyncFailed,
    SyncReport,
    SyncStatus,
    as_new_draft,
    combined_changes,
)
from post001.core.text import post_slug

__all__ = ["OfflineStore", "QueuedPublish"]

T = TypeVar("T")


class QueuedPublish:
    """A publish kept in the journal until the server answers (`publish_when_online`)."""

    __slots__ = ("idempotency_key", "post_id")

    def __init__(self, post_id: UUID, idempotency_key: str) -> None:
        self.post_id = post_id
        self.idempotency_key = idempotency_key

    def __repr__(self) -> str:
        return f"QueuedPublish({self.post_id}, {self.idempotency_key!r})"


class OfflineStore(RemoteStore):
    """A RemoteStore with a durable journal for creates, saves and queued publishes."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        journal_path: Path | None = None,
        username: str | None = None,
        replay_every: float | None = REPLAY_INTERVAL,
        replay_wait: Callable[[float, threading.Event], None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, token=token, **options)
        self.journal_path = journal_path or J.default_path()
        self._username = username
        self._journal: J.Journal | None = None
        self._online: bool | None = None
        self._known: dict[UUID, Post] = {}
        self._listeners: list[Listener] = []
        self._state_lock = threading.RLock()
        self._replay_lock = threading.Lock()
        self._closed = False
        self._replayer: Replayer | None = None
        if replay_every is not None:
            self._replayer = Replayer(self._background_tick, interval=replay_every,
                                      wait=replay_wait).start()

    # --- identity -----------------------------------------------------------------------
    def me(self) -> User:
        user = super().me()
        self._learn_identity(user.username)
        return user

    def _learn_identity(self, username: str) -> None:
        if self._username != username:
            with self._state_lock:
                if self._journal is not None and self._journal.username != username:
                    self._journal.close()
                    self._journal = None
                self._username = username
        J.remember_identity(self.journal_path, self.base_url, self._token, username)

    @property
    def username(self) -> str:
        """Whose journal this is: the token's user (asked of the server, or remembered
        from the last time it answered)."""
        if self._username is None:
            known = J.known_identity(self.journal_path, self.base_url, self._token)
            if known is not None:
                self._username = known
            else:
                try:
                    self.me()
                except NetworkError as err:
                    raise NetworkError(
                        f"{err.message} post001 cannot keep changes on this machine yet: it "
                        "has not seen this server confirm whose token this is.",
                        actions=["Connect once while the server is reachable."]) from err
        assert self._username is not None
        return self._username

    def journal(self) -> J.Journal:
        with self._state_lock:
            if self._journal is None:
                self._journal = J.Journal(self.base_url, self.username, self.journal_path)
            return self._journal

    # --- events and status ----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every SyncEvent (from the replaying thread). Returns a
        function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: SyncEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop replay
                import logging

                logging.getLogger("post001.sync").exception("sync listener failed")

    def _set_online(self, online: bool) -> None:
        changed = self._online is not online
        self._online = online
        if online and self._username is None:
            # Learn whose token this is while the server answers: a write made after
            # the network goes away needs to know whose journal it belongs in.
            with contextlib.suppress(Post001Error):
                self.me()
        if changed:
            self._announce()
            if online and self._replayer is not None:
                self._replayer.trigger()

    def _announce(self) -> None:
        if self._journal is None and self._username is None:
            return
        pending, stuck = self.journal().count()
        self._emit(PendingChanged(pending, stuck, self._online))

    def note_unreachable(self) -> None:
        """The caller found the server unreachable outside a write (an app opening while
        it is away): writes go straight to the journal from now on, and the replayer
        watches for the server to answer again."""
        self._set_online(False)

    @property
    def online(self) -> bool | None:
        """Whether the server answered last time (None: not asked yet)."""
        return self._online

    def status(self) -> SyncStatus:
        """Server, user and what waits on this machine (no network round trip)."""
        try:
            username: str | None = self.username
        except NetworkError:
            username = None
        pending = stuck = 0
        if username is not None:
            pending, stuck = self.journal().count()
        return SyncStatus(server=self.base_url, username=username, online=self._online,
                          pending=pending, stuck=stuck)

    def pending_posts(self) -> list[Post]:
        """The posts with changes waiting on this machine, as the writer last left them."""
        ids = list(dict.fromkeys(e.post_id for e in self.journal().entries()))
        return [post for post in (self._overlay(pid, None) for pid in ids) if post is not None]

    # --- writes -----------------------------------------------------------------------------
    def create_post(self, data: PostCreate | None = None) -> Post:
        data = data or PostCreate()
        if data.id is None:
            data = data.model_copy(update={"id": uuid.uuid4()})
        # A new post has nothing in the journal to wait behind, so no `behind`.
        post = self._online_first(partial(super().create_post, data),
                                  partial(self._keep_create, data))
        self._known[post.id] = post
        return post

    def save_draft(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                   save_id: UUID | None = None) -> int:
        save_id = save_id or uuid.uuid4()
        return self._online_first(
            partial(super().save_draft, post_id, changes, expected_version=expected_version,
                    save_id=save_id),
            partial(self._keep_save, post_id, changes, expected_version, save_id),
            behind=post_id)

    def update_post(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                    save_id: UUID | None = None) -> Post:
        save_id = save_id or uuid.uuid4()
        update = partial(super().update_post, post_id, changes,
                         expected_version=expected_version, save_id=save_id)
        return self._online_first(
            lambda: self._remember(update()),
            partial(self._keep_update, post_id, changes, expected_version, save_id),
            behind=post_id)

    def _online_first(self, send: Callable[[], T], keep: Callable[[], T], *,
                      behind: UUID | None = None) -> T:
        """`send` the write to the server; where it cannot go there, `keep` it in the
        journal instead. Every write that may be kept goes through here, so they all
        follow the same rules:

        - straight to the journal, without trying, while the replayer watches a server
          known to be down (`_try_server`), and while post `behind` has entries waiting:
          a write must never overtake the ones before it;
        - only a NetworkError means "not sent": it marks the store offline and the write
          is kept. Any other error (a conflict, a refusal) is the server's answer: it
          goes to the caller as a RemoteStore would raise it."""
        if self._try_server() and (behind is None or not self._waiting(behind)):
            try:
                result = send()
            except NetworkError:
                self._set_online(False)
            else:
                self._set_online(True)
                return result
        return keep()

    def _remember(self, post: Post) -> Post:
        self._known[post.id] = post
        return post

    def _keep_create(self, data: PostCreate) -> Post:
        assert data.id is not None
        payload = data.model_dump(mode="json", exclude_unset=True)
        payload["id"] = str(data.id)
        self.journal().append("create", data.id, str(data.id), payload)
        self._announce()
        return self._offline_post(data)

    def _keep_update(self, post_id: UUID, changes: PostUpdate, expected_version: int,
                     save_id: UUID) -> Post:
        if post_id not in self._known and not self._waiting(post_id):
            raise NetworkError(f"cannot reach the post001 server at {self.base_url}, and "
                               "this post is not known on this machine; nothing was saved.")
        self._keep_save(post_id, changes, expected_version, save_id)
        kept = self._overlay(post_id, None)
        assert kept is not None
        return kept

    def _keep_save(self, post_id: UUID, changes: PostUpdate, expected_version: int,
                   save_id: UUID) -> int:
        payload = changes.model_dump(mode="json", exclude_unset=True)
        self.journal().append("save", post_id, str(save_id), payload,
                              base_version=expected_version)
        self._announce()
        return expected_version + 1

    def _try_server(self) -> bool:
        """Whether a write should try the server first. While it is known to be down and
        the replayer watches for it, writes go straight to the journal (no waiting on
        connection attempts); without a replayer every write tries again."""
        return self._online is not False or self._replayer is None

    def _waiting(self, post_id: UUID) -> bool:
        """True when the post has entries in the journal (a save must queue behind them)."""
        if self._username is None and not self.journal_path.exists():
            return False
        return self.journal().has_entries(post_id)

    def delete_post(self, post_id: UUID) -> None:
        """A draft written offline and never sent is deleted here, journal and all. Any
        other draft is deleted on the server (never queued: a deletion replayed later,
        after the text changed elsewhere, would destroy work); its waiting saves go too."""
        entries = self.journal().entries(post_id) if self._waiting(post_id) else []
        if not any(entry.kind == "create" for entry in entries):
            super().delete_post(post_id)
        if entries:
            self.journal().remove_many([entry.seq for entry in entries])
            self._announce()
        self._known.pop(post_id, None)

    def publish(self, post_id: UUID, *, idempotency_key: str | None = None) -> PublishResult:
        if self._waiting(post_id):
            self.sync()
            waiting = self.journal().entries(post_id)
            if waiting:
                if any(e.state == "stuck" for e in waiting):
                    raise ConflictError(
                        "Not published: changes to this post made on this machine wait for "
                        "your decision (they met a newer version, or the server refused "
                        "them). Resolve them first, so the text you see is the one that "
                        "goes out.", current_version=0, field="post_id",
                        details={"reason": "unresolved_offline_changes"})
                raise self._offline_publish_error(None, len(waiting))
        try:
            result = super().publish(post_id, idempotency_key=idempotency_key)
        except NetworkError as err:
            self._set_online(False)
            raise self._offline_publish_error(err, 0) from err
        self._set_online(True)
        self._known[post_id] = result.post
        return result

    def _offline_publish_error(self, cause: NetworkError | None, waiting: int
                               ) -> NetworkError:
        why = (cause.message if cause is not None
               else f"{waiting} change(s) to this post are still on this machine, waiting "
                    "for the server")
        return NetworkError(
            f"Not published: publishing needs the server ({why}). Publishing now would send "
            "an older text, or nothing at all.",
            field="post_id",
            actions=["Publish again when you are back online",
                     "Or choose 'publish when back online': it goes out once, after your "
                     "changes arrive"])

    def publish_when_online(self, post_id: UUID, *, idempotency_key: str | None = None
                            ) -> PublishResult | QueuedPublish:
        """Publish now if the server answers and nothing of the post waits here; else
        keep the publish in the journal, after the post's pending saves, to fire once
        under `idempotency_key` when the server answers again."""
        key = idempotency_key or f"queued-{uuid.uuid4()}"
        now: Callable[[], PublishResult | QueuedPublish] = partial(
            super().publish, post_id, idempotency_key=key)
        return self._online_first(now, partial(self._keep_publish, post_id, key),
                                  behind=post_id)

    def _keep_publish(self, post_id: UUID, key: str) -> QueuedPublish:
        self.journal().append("publish", post_id, key, {})
        self._announce()
        return QueuedPublish(post_id, key)

    # --- reads --------------------------------------------------------------------------------
    def get_post(self, post_id: UUID) -> Post:
        try:
            post = super().get_post(post_id)
        except NetworkError:
            self._set_online(False)
            offline = self._overlay(post_id, None)
            if offline is None:
                raise
            return offline
        self._set_online(True)
        self._known[post_id] = post
        if self._username is not None and self._waiting(post_id):
            overlaid = self._overlay(post_id, post)
            assert overlaid is not None
            return overlaid
        return post

    def _overlay(self, post_id: UUID, base: Post | None) -> Post | None:
        """The post as the writer left it: the server's (or last known) post with the
        journalled changes applied, at the version they will make."""
        entries = [e for e in self.journal().entries(post_id) if e.kind != "publish"]
        post = base or self._known.get(post_id)
        create = next((e for e in entries if e.kind == "create"), None)
        if post is None and create is not None:
            post = self._offline_post(PostCreate.model_validate(create.payload))
        if post is None:
            return None
        changes = combined_changes(entries)
        values = changes.model_dump(exclude_unset=True) if changes is not None else {}
        version = post.version
        saves = [e for e in entries if e.kind == "save" and e.base_version is not None]
        if saves:
            version = max(version, int(saves[-1].base_version or 0) + 1)
        return post.model_copy(update={**values, "version": version})

    def _offline_post(self, data: PostCreate) -> Post:
        now = datetime.now(UTC)
        assert data.id is not None
        return Post(
            id=data.id, author=self._username or "", title=data.title,
            subtitle=data.subtitle, byline=data.byline, content=data.content,
            post_type=PostType(data.post_type), is_public=data.is_public,
            seo_title=data.seo_title, meta_description=data.meta_description,
            thumbnail_url=data.thumbnail_url, metadata=dict(data.metadata),
            slug=post_slug(data.title, data.id), status=PostStatus.DRAFT,
            publish_at=data.publish_at, published_at=None, created_at=now, updated_at=now,
            version=1, shares=[],
        )

    # --- replay -------------------------------------------------------------------------------
    def _background_tick(self) -> None:
        if self._closed:
            return
        if self._username is None and not self.journal_path.exists():
            return
        try:
            pending, stuck = self.journal().count()
        except NetworkError:
            return  # whose journal this is is not known yet
        if pending > stuck:
            self.sync()
        elif self._online is False:
            self._set_online(self._reachable())

    def _reachable(self) -> bool:
        try:
            self._client.get(self.base_url + "/api/health", timeout=2.0)
        except Exception:
            return False
        return True

    def sync(self) -> SyncReport:
        """Send what waits in the journal, in order; see the module docstring."""
        report = SyncReport()
        with replay_lock(self.journal_path, self._replay_lock) as mine:
            if not mine:
                report.busy = True
            else:
                self._replay(report)
                if report.recreated and report.error is None:
                    self._replay(report)  # the new drafts' creates, just queued
        pending, stuck = self.journal().count()
        report.remaining, report.stuck = pending, stuck
        report.online = self._online
        self._emit(PendingChanged(pending, stuck, self._online))
        return report

    def _replay(self, report: SyncReport) -> None:
        """One pass over the journal (post001/core/journal_replay.py); the pass reports
        through this store, so its status and listeners see every entry sent."""
        ReplayPass(self, self.journal(), self._known, set_online=self._set_online,
                   emit=self._emit, closed=lambda: self._closed).run(report)

    def conflicts(self) -> list[SyncConflict | SyncFailed]:
        """The posts whose replay waits for the writer, with both texts (asks the server
        for its current version of each conflicting post)."""
        out: list[SyncConflict | SyncFailed] = []
        journal = self.journal()
        for entry in (e for e in journal.entries() if e.state == "stuck"):
            rest = [e for e in journal.entries(entry.post_id) if e.seq >= entry.seq]
            mine = combined_changes(rest)
            problem = entry.problem or {}
            if problem.get("kind") == "conflict":
                theirs = RemoteStore.get_post(self, entry.post_id)
                out.append(SyncConflict(entry.post_id, mine or PostUpdate(), theirs,
                                        entry.base_version))
            else:
                out.append(SyncFailed(entry.post_id, entry.kind,
                                      Post001Error.from_dict(problem), mine))
        return out

    def resolve(self, post_id: UUID, choice: Resolution) -> Post | None:
        """Settle a post whose replay stopped. `mine`: the writer's pending text is saved
        over the server's current version; `theirs`: it is dropped from the journal;
        `copy`: it becomes a new draft and the post keeps the server's text. Queued
        publishes of the post then go out as usual. Needs the server."""
        journal = self.journal()
        entries = journal.entries(post_id)
        writes = [e for e in entries if e.kind != "publish"]
        mine = combined_changes(writes)
        result: Post | None = None
        if choice == "mine" and mine is not None:
            if any(e.kind == "create" for e in writes):
                journal.release(post_id)  # a create is retried as it was
                self.sync()
                return self._overlay(post_id, None)
            current = RemoteStore.get_post(self, post_id)
            result = RemoteStore.update_post(self, post_id, mine,
                                             expected_version=current.version,
                                             save_id=uuid.uuid4())
        elif choice == "copy" and mine is not None:
            result = RemoteStore.create_post(self, as_new_draft(mine, uuid.uuid4()))
        elif choice not in ("mine", "theirs", "copy"):
            raise ValueError(f"unknown resolution {choice!r}")
        journal.remove_many([e.seq for e in writes])
        journal.release(post_id)
        self._announce()
        if self._replayer is not None:
            self._replayer.trigger()
        return result

    # --- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self._closed = True
        if self._replayer is not None:
            self._replayer.stop()
        with self._state_lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
        super().close()

