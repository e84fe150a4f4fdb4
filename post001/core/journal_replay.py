"""Sending the offline journal to the server: one replay pass, and the lock that lets
only one replayer at a time work on a journal.

The rules it follows are the ones post001/core/offline.py's docstring lists: entries go
out in order, each under the identity that makes a repeat harmless; an entry leaves the
journal only once the server acknowledged it; a conflict or a refusal stops that post's
replay (other posts go on); a post the server no longer has comes back as a new draft.
`OfflineStore.sync()` takes the lock and runs the pass; the store keeps what the pass
needs to tell others (whether the server answers, the listeners, the posts it knows).
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

from post001.core import journal as J
from post001.core.errors import (
    ConflictError,
    NetworkError,
    NotFoundError,
    PermissionDenied,
    Post001Error,
)
from post001.core.models import Post, PostCreate, PostUpdate
from post001.core.remote import RemoteStore
from post001.core.sync import (
    EntrySent,
    PostRecreated,
    SyncConflict,
    SyncEvent,
    SyncFailed,
    SyncReport,
    as_new_draft,
    combined_changes,
)

__all__ = ["ReplayPass", "replay_lock"]


@contextlib.contextmanager
def replay_lock(journal_path: Path, in_process: threading.Lock) -> Iterator[bool]:
    """One replayer per journal: `in_process` against other threads of this process,
    and a lock file beside the journal against other processes (the app and
    `post001 sync` at once). Yields whether this caller holds both."""
    if not in_process.acquire(timeout=30):
        yield False
        return
    try:
        lock_path = journal_path.with_name(journal_path.name + ".replay")
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl

            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        in_process.release()


class ReplayPass:
    """One pass over `journal`, oldest entry first, sending each to `server`.

    The writes go through RemoteStore's own methods, called on `server` by name: the
    OfflineStore overrides them to keep writes in the journal, and a replayed write that
    went back into the journal would never leave it. `known` is the store's last known
    copy of each post (a recreated draft starts from it); `set_online`, `emit` and
    `closed` are the store's, so its status and listeners follow the replay.
    """

    def __init__(
        self,
        server: RemoteStore,
        journal: J.Journal,
        known: dict[UUID, Post],
        *,
        set_online: Callable[[bool], None],
        emit: Callable[[SyncEvent], None],
        closed: Callable[[], bool],
    ) -> None:
        self._server = server
        self._journal = journal
        self._known = known
        self._set_online = set_online
        self._emit = emit
        self._closed = closed

    def run(self, report: SyncReport) -> None:
        """Send what waits, adding what happened to `report`. Stops at the first network
        failure or refused token (everything after it stays for the next pass)."""
        journal = self._journal
        entries = journal.entries()
        blocked = {e.post_id for e in entries if e.state == "stuck"}
        skip: set[int] = set()
        for entry in entries:
            if entry.post_id in blocked or entry.seq in skip or self._closed():
                continue
            try:
                version = self._send(entry, report)
            except NetworkError as err:
                self._set_online(False)
                report.error = err.message
                return
            except PermissionDenied as err:
                if err.details.get("status") == 401:
                    report.error = err.message  # signed out or revoked: keep everything
                    self._set_online(True)
                    return
                self._stop_post(entry, err, report, blocked)
            except ConflictError as err:
                if entry.kind != "save" or err.current_version == 0:
                    self._stop_post(entry, err, report, blocked)
                    continue
                try:
                    theirs = RemoteStore.get_post(self._server, entry.post_id)
                except NetworkError as net:
                    self._set_online(False)
                    report.error = net.message
                    return
                rest = [e for e in journal.entries(entry.post_id) if e.seq >= entry.seq]
                mine = combined_changes(rest) or PostUpdate()
                if _already_there(mine, theirs):
                    # The server has exactly the writer's text: these saves were applied
                    # (an acknowledgement lost here, or another replayer was quicker).
                    # Queued publishes of the post still go out.
                    applied = [e.seq for e in rest if e.kind != "publish"]
                    journal.remove_many(applied)
                    skip.update(applied)
                    report.sent += len(applied)
                    continue
                conflict = SyncConflict(entry.post_id, mine, theirs, entry.base_version)
                journal.mark_stuck(entry.seq, {**err.to_dict(), "kind": "conflict"})
                blocked.add(entry.post_id)
                report.conflicts.append(conflict)
                self._emit(conflict)
            except NotFoundError as err:
                if entry.kind == "save" and err.collective is None:
                    self._recreate(entry, report, blocked)
                else:
                    self._stop_post(entry, err, report, blocked)
            except Post001Error as err:
                self._stop_post(entry, err, report, blocked)
            else:
                self._set_online(True)
                journal.remove(entry.seq)
                report.sent += 1
                self._emit(EntrySent(entry.post_id, entry.kind, version))

    def _send(self, entry: J.Entry, report: SyncReport) -> int | None:
        server = self._server
        if entry.kind == "create":
            post = RemoteStore.create_post(server, PostCreate.model_validate(entry.payload))
            self._known[post.id] = post
            report.created.append(post.id)
            return post.version
        if entry.kind == "save":
            assert entry.base_version is not None
            return RemoteStore.save_draft(server, entry.post_id,
                                          PostUpdate.model_validate(entry.payload),
                                          expected_version=entry.base_version,
                                          save_id=UUID(entry.write_id))
        result = RemoteStore.publish(server, entry.post_id, idempotency_key=entry.write_id)
        self._known[entry.post_id] = result.post
        report.published.append(entry.post_id)
        return result.post.version

    def _stop_post(self, entry: J.Entry, err: Post001Error, report: SyncReport,
                   blocked: set[UUID]) -> None:
        journal = self._journal
        journal.mark_stuck(entry.seq, {**err.to_dict(), "kind": "failed"})
        blocked.add(entry.post_id)
        mine = combined_changes([e for e in journal.entries(entry.post_id)
                                 if e.seq >= entry.seq])
        failed = SyncFailed(entry.post_id, entry.kind, err, mine)
        report.failed.append(failed)
        self._emit(failed)

    def _recreate(self, entry: J.Entry, report: SyncReport, blocked: set[UUID]) -> None:
        """The server has no such post any more: the writer's pending text becomes a new
        draft (in one journal transaction: its saves out, the create in)."""
        journal = self._journal
        entries = journal.entries(entry.post_id)
        new_id = uuid.uuid4()
        base = self._known.get(entry.post_id)
        known = (PostUpdate.model_validate(base.fields().model_dump(exclude={"publish_at"}))
                 if base else None)
        changes = combined_changes(entries)
        merged = {**(known.model_dump(exclude_unset=True) if known else {}),
                  **(changes.model_dump(exclude_unset=True) if changes else {})}
        draft = as_new_draft(PostUpdate.model_validate(merged), new_id)
        payload = draft.model_dump(mode="json", exclude_unset=True)
        payload["id"] = str(new_id)
        journal.replace([e.seq for e in entries], [("create", new_id, str(new_id), payload,
                                                    None)])
        blocked.add(entry.post_id)
        event = PostRecreated(entry.post_id, new_id)
        report.recreated.append(event)
        self._emit(event)


def _already_there(mine: PostUpdate, theirs: Post) -> bool:
    """True when every field the writer changed already has their value on the server."""
    changed = mine.model_dump(exclude_unset=True)
    if not changed:
        return False
    current = theirs.model_dump()
    return all(current.get(field) == value for field, value in changed.items())
