"""What replaying the offline journal reports, and the thread that replays it by itself.

The events are plain frozen dataclasses; an `OfflineStore` hands them to its listeners
(on the thread that replayed, usually the `Replayer`'s: a UI forwards them to its own
thread). `SyncReport` sums up one `sync()`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from post001.core.errors import ConflictError, Post001Error
from post001.core.models import Post, PostCreate, PostFields, PostUpdate

if TYPE_CHECKING:
    from post001.core.journal import Entry

log = logging.getLogger("post001.sync")

#: How the writer settles a post whose replay stopped: send their text over the
#: server's, keep the server's (dropping theirs from the journal), or keep both
#: (their text becomes a new draft).
Resolution = Literal["mine", "theirs", "copy"]

#: Seconds between replay attempts while entries wait (the target is "within 10 s").
REPLAY_INTERVAL = 2.0

_UPDATABLE = frozenset(PostUpdate.model_fields)


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntrySent:
    """The server acknowledged a journalled write; it left the journal."""

    post_id: UUID
    kind: str
    version: int | None


@dataclass(frozen=True, slots=True)
class SyncConflict:
    """Someone else changed the post on the server since the writer's journalled saves
    were based on it. Neither text is dropped: `mine` (every pending change of the post,
    combined) stays in the journal until `OfflineStore.resolve()`; `theirs` is the post
    as the server has it now."""

    post_id: UUID
    mine: PostUpdate
    theirs: Post
    base_version: int | None

    def error(self) -> SyncConflictError:
        return SyncConflictError(self)


class SyncConflictError(ConflictError):
    """A journalled save met a newer version on the server (carries both texts)."""

    def __init__(self, conflict: SyncConflict) -> None:
        super().__init__(
            f"Post {conflict.post_id} was changed elsewhere while your changes waited on "
            f"this machine (it is at version {conflict.theirs.version}; yours were based on "
            f"version {conflict.base_version}). Both texts are kept.",
            current_version=conflict.theirs.version,
            field="post_id",
        )
        self.conflict = conflict


@dataclass(frozen=True, slots=True)
class SyncFailed:
    """The server refused a journalled write for a reason a retry will not fix (e.g. a
    validation error). The post's entries wait in the journal until resolved."""

    post_id: UUID
    kind: str
    error: Post001Error
    mine: PostUpdate | None


@dataclass(frozen=True, slots=True)
class PostRecreated:
    """The server no longer has a post the writer changed offline: their text became a
    new draft (`new_id`), created when the journal replays."""

    old_id: UUID
    new_id: UUID


@dataclass(frozen=True, slots=True)
class PendingChanged:
    """The journal's size or the server's reachability changed."""

    pending: int
    stuck: int
    online: bool | None


SyncEvent = EntrySent | SyncConflict | SyncFailed | PostRecreated | PendingChanged
Listener = Callable[[SyncEvent], None]


@dataclass
class SyncReport:
    """What one `sync()` did."""

    sent: int = 0
    created: list[UUID] = field(default_factory=list)
    published: list[UUID] = field(default_factory=list)
    conflicts: list[SyncConflict] = field(default_factory=list)
    failed: list[SyncFailed] = field(default_factory=list)
    recreated: list[PostRecreated] = field(default_factory=list)
    remaining: int = 0
    stuck: int = 0
    online: bool | None = None
    #: Why replay stopped early (unreachable, token refused), when it did.
    error: str | None = None
    #: Another process was replaying this journal; nothing was sent from here.
    busy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "created": [str(i) for i in self.created],
            "published": [str(i) for i in self.published],
            "conflicts": [{"post_id": str(c.post_id), "base_version": c.base_version,
                           "server_version": c.theirs.version,
                           "mine": c.mine.model_dump(mode="json", exclude_unset=True),
                           "theirs": {"title": c.theirs.title, "content": c.theirs.content}}
                          for c in self.conflicts],
            "failed": [{"post_id": str(f.post_id), "kind": f.kind, **f.error.to_dict()}
                       for f in self.failed],
            "recreated": [{"old_id": str(r.old_id), "new_id": str(r.new_id)}
                          for r in self.recreated],
            "remaining": self.remaining,
            "stuck": self.stuck,
            "online": self.online,
            "error": self.error,
            "busy": self.busy,
        }


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What a UI shows about team mode: where, who, and what waits on this machine."""

    server: str
    username: str | None
    online: bool | None
    pending: int
    stuck: int

    def describe(self) -> str:
        if self.pending == 0:
            return "offline" if self.online is False else "all changes sent"
        changes = f"{self.pending} change{'s' if self.pending != 1 else ''}"
        if self.online is False:
            return f"offline: {changes} kept on this machine"
        if self.stuck:
            needs = "needs" if self.stuck == 1 else "need"
            return f"{changes} kept on this machine; {self.stuck} {needs} your decision"
        return f"{changes} waiting to be sent"

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server, "user": self.username, "online": self.online,
                "pending": self.pending, "stuck": self.stuck, "summary": self.describe()}


# --- combining journalled writes ---------------------------------------------------------------


def combined_changes(entries: list[Entry]) -> PostUpdate | None:
    """Every text and setting change in `entries` (creates and saves, in order) as one
    partial update: later values win, as they did for the writer."""
    values: dict[str, Any] = {}
    seen = False
    for entry in entries:
        if entry.kind in ("create", "save"):
            seen = True
            values.update({k: v for k, v in entry.payload.items() if k in _UPDATABLE})
    return PostUpdate.model_validate(values) if seen else None


def as_new_draft(changes: PostUpdate | None, new_id: UUID) -> PostCreate:
    """The writer's text as a new draft (no collectives: they choose again)."""
    values = changes.model_dump(exclude_unset=True) if changes is not None else {}
    fields = {k: v for k, v in values.items() if k in PostFields.model_fields and v is not None}
    return PostCreate.model_validate({**fields, "id": new_id})


# --- the background replayer --------------------------------------------------------------------


class Replayer:
    """Replays a store's journal by itself: every `interval` seconds while entries wait
    (or while the server is believed unreachable, to notice it is back), and at once on
    `trigger()`.

    `wait(timeout, wake)` is the clock: the default sleeps on `wake` (a threading.Event)
    for `timeout` seconds. Tests pass their own to step the replayer by hand.
    """

    def __init__(
        self,
        tick: Callable[[], None],
        *,
        interval: float = REPLAY_INTERVAL,
        wait: Callable[[float, threading.Event], None] | None = None,
        name: str = "post001-replay",
    ) -> None:
        self._tick = tick
        self.interval = interval
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._wait = wait or _sleep_until_woken
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Replayer:
        self._thread.start()
        return self

    def trigger(self) -> None:
        """Replay now instead of at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wait(self.interval, self._wake)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self._tick()
            except Exception:  # the thread must outlive any one failure
                log.exception("replaying the offline journal failed; trying again later")


def _sleep_until_woken(timeout: float, wake: threading.Event) -> None:
    wake.wait(timeout)
