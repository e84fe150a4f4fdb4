"""Keeping one draft in the store: saves, conflicts, retries and the copy on this machine.

The editor decides *when* to save (autosave.py) and shows what happened; this module
does the saving. Store writes for one post run one at a time under a lock, each with the
version the previous one returned, so the editor never conflicts with itself: a
conflict means someone else wrote. The post and version the writes build on have a
lock of their own, never held across a store call: the editor's thread moves them
(`adopt`, `retarget`, `caught_up`) without waiting for a write in flight. Until a save
succeeds the text is also kept on this machine (recovery.py), so nothing typed is lost
to a failing disk or a closed editor.

No screen here: the methods that touch the store run in worker threads and report back
through a callback (`report`), so the class is tested with a real store and no app
(tests/tui/test_draft_sync.py). Moved out of post001/tui/screens/editor.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol
from uuid import UUID

from post001.core.errors import ConflictError
from post001.tui import recovery
from post001.tui.autosave import SaveTicket
from post001.tui.messages import DraftConflict, DraftSaved, DraftSaveFailed, DraftSnapshot

if TYPE_CHECKING:
    from textual.message import Message

    from post001.core.models import Post, PublishResult
    from post001.core.store import Store

#: Error categories worth retrying: the same save may work a moment later.
RETRYABLE = ("network", "database")
#: Attempts a closing editor makes before leaving the text in the recovery folder.
FINAL_ATTEMPTS = 4

Choice = Literal["mine", "theirs", "copy"]


class SyncHost(Protocol):
    """What saving needs from the app (Post001App is one). Any thread."""

    def wait_store(self, timeout: float = ...) -> Store: ...

    def clock(self) -> datetime: ...

    def notify(self, message: str, *, title: str = ..., severity: Any = ...,
               timeout: float | None = ..., markup: bool = ...) -> None: ...

    def count_recovered(self) -> int: ...


def fields(snap: DraftSnapshot) -> dict[str, Any]:
    """The post fields a snapshot holds (settings fields included)."""
    return {"title": snap.title, "subtitle": snap.subtitle, "content": snap.content,
            **snap.extra}


class DraftSync:
    """The store side of one draft: which post it is, at which version, and every write."""

    def __init__(self, post_id: UUID | None = None) -> None:
        self.post_id = post_id
        self.version = 0
        #: The draft's file in the recovery folder (a new draft has no id yet).
        self.recovery_key = str(post_id) if post_id else f"new-{uuid.uuid4().hex[:12]}"
        self._writing = threading.Lock()  # one store write for this post at a time
        self._state = threading.Lock()  # post_id and version; never held across I/O

    # --- what the editor shows ------------------------------------------------------------
    def adopt(self, post: Post) -> None:
        """The editor now shows `post` (loaded, restored, or taken in a conflict)."""
        with self._state:
            self.post_id = post.id
            self.version = post.version

    def retarget(self, post_id: UUID, version: int) -> None:
        """The draft is another post now (the offline journal saved it as a new one):
        later saves go there, building on `version`."""
        with self._state:
            self.post_id = post_id
            self.version = version

    def caught_up(self, version: int) -> None:
        """Another write for this post (collectives, publish) returned `version`."""
        with self._state:
            self.version = max(self.version, version)

    def overtaken(self, current_version: int) -> bool:
        """A write met `current_version` in the store, yet the editor has taken that
        version on since the write set out (an offline conflict settled as "mine" while
        a save was in flight): nobody else wrote, and the text can simply go again."""
        with self._state:
            return current_version <= self.version

    def _base(self) -> tuple[UUID | None, int]:
        with self._state:
            return self.post_id, self.version

    def _advance(self, post_id: UUID, version: int) -> int:
        """A write to `post_id` returned `version`; what later writes build on. An
        `adopt` or `retarget` made while it was in flight wins where it moved on."""
        with self._state:
            if self.post_id == post_id:
                self.version = max(self.version, version)
            return self.version

    # --- the copy on this machine ---------------------------------------------------------
    def keep_locally(self, snap: DraftSnapshot, reason: str) -> None:
        """Write the text (now, on the calling thread) to the recovery folder. A later
        successful save removes it."""
        recovery.keep(self.recovery_key, self.post_id, fields(snap), reason=reason)

    def forget_local(self) -> None:
        recovery.forget(self.recovery_key)

    @staticmethod
    def set_aside(post_id: UUID, values: dict[str, Any], reason: str) -> None:
        """Keep a text the writer chose to drop (or overwrote) on this machine anyway."""
        recovery.keep(f"{post_id}-set-aside-{uuid.uuid4().hex[:6]}", post_id, values,
                      reason=reason)

    # --- saving (worker threads) ----------------------------------------------------------
    def write(self, store: Store, snap: DraftSnapshot, now: Callable[[], datetime]
              ) -> DraftSaved:
        """Create or update the post from `snap`.

        A plain text save (no settings fields) goes through `Store.save_draft`, which
        returns only the new version: the editor already shows the text, so reading the
        whole post back on every auto-save would be wasted work."""
        from post001.core.models import PostCreate, PostUpdate

        with self._writing:
            post: Post | None
            post_id, version = self._base()
            if post_id is None:
                post = store.create_post(PostCreate.model_validate(fields(snap)))
                created = True
                self.adopt(post)
                version = post.version
            elif snap.extra:
                # Settings fields: the editor shows what the store made of them.
                changes = PostUpdate.model_validate(fields(snap))
                post = store.update_post(post_id, changes, expected_version=version)
                created = False
                version = self._advance(post_id, post.version)
            else:
                changes = PostUpdate.model_validate(fields(snap))
                version = self._advance(post_id, store.save_draft(
                    post_id, changes, expected_version=version))
                post = None
                created = False
            saved_at = post.updated_at if post is not None else now()
            return DraftSaved(post, SaveTicket(-1, 0.0), created, version, saved_at, snap)

    def save(self, host: SyncHost, snap: DraftSnapshot, ticket: SaveTicket, *,
             final: bool, report: Callable[[Message], object]) -> None:
        """One save, reported as DraftSaved, DraftConflict or DraftSaveFailed.

        `final`: the editor is closing. Retryable failures are then retried a few times
        here (nobody is left to retry later), and a conflict keeps both texts by saving
        this one as a new draft."""
        from post001.core.validation import as_post001_error

        attempts = FINAL_ATTEMPTS if final else 1
        for attempt in range(attempts):
            try:
                saved = self._write_on_latest(host.wait_store(), snap, host.clock)
            except ConflictError as exc:
                if final:
                    self.keep_as_copy(host, snap)
                    return
                report(DraftConflict(snap, ticket, exc.current_version))
                return
            except Exception as exc:
                error = as_post001_error(exc)
                retryable = error.category in RETRYABLE
                # Failed or refused: the text stays on this machine until a save succeeds.
                self.keep_locally(snap, f"save failed: {error.message}" if retryable
                                  else f"not saved: {error.message}")
                if retryable and attempt + 1 < attempts:
                    time.sleep(min(2.0 ** attempt, 5.0))  # backoff between retries
                    continue
                report(DraftSaveFailed(error, ticket, retryable))
                if final:
                    host.notify(
                        f"{error.message}\nYour text is kept in {recovery.recovery_dir()}.",
                        title="Draft not saved to the store", severity="error")
                    host.count_recovered()
                return
            self.forget_local()
            saved.ticket = ticket
            report(saved)
            return

    def _write_on_latest(self, store: Store, snap: DraftSnapshot,
                         now: Callable[[], datetime]) -> DraftSaved:
        """`write`, sent once more when its conflict is only with a version the editor
        has taken on meanwhile. Without this, a closing editor would keep its text as a
        second draft, and an open one would ask the writer about their own text. A
        second conflict is someone else's write."""
        try:
            return self.write(store, snap, now)
        except ConflictError as exc:
            if not self.overtaken(exc.current_version):
                raise
        return self.write(store, snap, now)

    def keep_as_copy(self, host: SyncHost, snap: DraftSnapshot) -> None:
        """Closing, and the stored post moved on: keep both by saving ours as a new
        draft. The text is on this machine before the store is asked."""
        from post001.core.models import PostCreate
        from post001.core.validation import as_post001_error
        from post001.tui.screens.base import describe

        self.keep_locally(snap, "changed elsewhere while you were writing")
        try:
            copy = host.wait_store().create_post(PostCreate.model_validate(fields(snap)))
        except Exception as exc:
            error = as_post001_error(exc)
            self.keep_locally(snap, f"changed elsewhere, and the copy failed: {error.message}")
            host.notify(describe(error), severity="error")
            host.count_recovered()
            return
        self.forget_local()
        host.notify(f"The post changed elsewhere; your text was saved as a new draft "
                    f"“{copy.title or 'Untitled'}”.", title="Kept both versions")

    def resolve(self, store: Store, choice: Choice, mine: DraftSnapshot) -> Post:
        """Write the writer's answer to a conflict: keep `mine` over the stored version,
        save it as a new draft (`copy`), or take the stored version (`theirs`)."""
        from post001.core.models import PostCreate, PostUpdate

        with self._writing:
            post_id = self.post_id
            assert post_id is not None
            stored = store.get_post(post_id)
            if choice == "mine":
                # Theirs is overwritten: keep a copy on this machine as well as in history.
                self.set_aside(post_id, {"title": stored.title, "subtitle": stored.subtitle,
                                         "content": stored.content},
                               reason=f"the stored version {stored.version}, replaced by "
                                      f"yours in a conflict")
                changes = PostUpdate.model_validate(fields(mine))
                post = store.update_post(post_id, changes, expected_version=stored.version)
            elif choice == "copy":
                post = store.create_post(PostCreate.model_validate(fields(mine)))
            else:
                post = stored
            self.adopt(post)
        return post

    # --- other writes for this post (worker threads) --------------------------------------
    def set_collectives(self, store: Store, slugs: list[str]) -> Post:
        with self._writing:
            post_id = self.post_id_or_fail()
            post = store.set_collectives(post_id, slugs)
            self._advance(post_id, post.version)
        return post

    def publish(self, store: Store, idempotency_key: str) -> PublishResult:
        with self._writing:
            post_id = self.post_id_or_fail()
            result = store.publish(post_id, idempotency_key=idempotency_key)
            self._advance(post_id, result.post.version)
        return result

    def unpublish(self, store: Store) -> Post:
        with self._writing:
            post_id = self.post_id_or_fail()
            post = store.unpublish(post_id)
            self._advance(post_id, post.version)
        return post

    def post_id_or_fail(self) -> UUID:
        if self.post_id is None:
            raise RuntimeError("the draft is not in the store yet")  # callers save first
        return self.post_id
