"""DraftSync without a screen: a real SQLite store, a host that records what the app
would be told, and the messages a save reports."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest

import post001
from post001.core.errors import DatabaseError
from post001.core.models import PostCreate, PostUpdate
from post001.tui import recovery
from post001.tui.autosave import SaveTicket
from post001.tui.draft_sync import DraftSync
from post001.tui.messages import DraftConflict, DraftSaved, DraftSaveFailed, DraftSnapshot


class Host:
    """What DraftSync asks of the app: the store, the time, notices, the recovered count."""

    def __init__(self, store: Any, clock: Any) -> None:
        self.store = store
        self.clock_ = clock
        self.notices: list[str] = []
        self.recovered_counts = 0

    def wait_store(self, timeout: float = 60.0) -> Any:
        if self.store is None:
            raise DatabaseError("could not connect (no store in this test)")
        return self.store

    def clock(self) -> datetime:
        return self.clock_()  # type: ignore[no-any-return]

    def notify(self, message: str, **_: Any) -> None:
        self.notices.append(message)

    def count_recovered(self) -> int:
        self.recovered_counts += 1
        return len(recovery.pending())


@pytest.fixture
def alice(tmp_path: Any, clock: Any) -> Any:
    store = post001.connect(f"sqlite:///{tmp_path}/sync.db", user="alice", clock=clock)
    yield store
    store.close()


def snap(content: str, title: str = "T", **extra: Any) -> DraftSnapshot:
    return DraftSnapshot(title=title, subtitle="", content=content, extra=extra)


def save(sync: DraftSync, host: Host, text: DraftSnapshot, *, final: bool = False) -> list[Any]:
    reported: list[Any] = []
    sync.save(host, text, SaveTicket(1, 0.0), final=final, report=reported.append)
    return reported


def test_the_first_save_creates_the_post_and_later_ones_build_on_its_version(
        alice: Any, clock: Any) -> None:
    sync, host = DraftSync(), Host(alice, clock)
    [created] = save(sync, host, snap("one"))
    assert isinstance(created, DraftSaved) and created.created
    assert sync.post_id == created.post.id and sync.version == 1
    [updated] = save(sync, host, snap("one two"))
    assert isinstance(updated, DraftSaved) and not updated.created
    assert updated.post is None  # a text save learns only the version
    assert sync.version == updated.version == 2
    assert alice.get_post(sync.post_id).content == "one two"
    [with_settings] = save(sync, host, snap("one two", byline="Alice"))
    assert with_settings.post is not None and with_settings.post.byline == "Alice"
    assert recovery.pending() == []


def test_someone_elses_write_is_a_conflict_and_the_text_waits_on_this_machine(
        alice: Any, clock: Any) -> None:
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    sync, host = DraftSync(post.id), Host(alice, clock)
    sync.adopt(post)
    alice.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
    [conflict] = save(sync, host, snap("mine"))
    assert isinstance(conflict, DraftConflict) and conflict.current_version == 2
    assert alice.get_post(post.id).content == "theirs"
    resolved = sync.resolve(alice, "mine", conflict.mine)
    assert resolved.content == "mine" and sync.version == resolved.version
    # Theirs was overwritten in the store but is kept here too.
    assert [d["fields"]["content"] for d in recovery.pending()] == ["theirs"]


def test_the_editor_takes_on_a_version_without_waiting_for_a_save_in_flight(
        alice: Any, clock: Any) -> None:
    """`adopt` runs on the editor's thread; a save on a slow network must not freeze it
    (it used to wait for the write's lock). The save then meets the version taken on:
    nobody else wrote, so the text goes again on it, with no conflict reported."""
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    sync = DraftSync(post.id)
    sync.adopt(post)
    reported, sent = _settled_while_in_flight(alice, clock, sync, post, final=False)
    [saved] = reported
    assert isinstance(saved, DraftSaved) and saved.version == sync.version == 3
    assert sent == [1, 2]  # refused on the version it set out with, then sent on the new
    assert alice.get_post(post.id).content == "mine"


def test_a_closing_editor_whose_save_met_the_version_it_took_on_keeps_one_draft(
        alice: Any, clock: Any) -> None:
    """The same race as the editor closes: the final save used to keep its text as a
    second draft, though nobody else had written."""
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    sync = DraftSync(post.id)
    sync.adopt(post)
    reported, _ = _settled_while_in_flight(alice, clock, sync, post, final=True)
    [saved] = reported
    assert isinstance(saved, DraftSaved)
    assert [alice.get_post(p.id).content for p in alice.list_posts()] == ["mine"]
    assert recovery.pending() == []


def _settled_while_in_flight(alice: Any, clock: Any, sync: DraftSync, post: Any, *,
                             final: bool) -> tuple[list[Any], list[int]]:
    """Save "mine" with its first store call held on the wire; meanwhile an offline
    conflict is settled and the editor's thread takes the result on. Returns what the
    save reported and the versions each store call was sent on."""
    on_the_wire, answer = threading.Event(), threading.Event()
    sent: list[int] = []

    class SlowNetwork:
        """The store, with the first save held between request and answer."""

        def __getattr__(self, name: str) -> Any:
            return getattr(alice, name)

        def save_draft(self, *args: Any, **kwargs: Any) -> int:
            sent.append(kwargs["expected_version"])
            if len(sent) == 1:
                on_the_wire.set()
                assert answer.wait(60)  # a bound on a hang, not a pace
            return int(alice.save_draft(*args, **kwargs))

    reported: list[Any] = []
    writer = threading.Thread(target=lambda: reported.extend(
        save(sync, Host(SlowNetwork(), clock), snap("mine"), final=final)))
    writer.start()
    assert on_the_wire.wait(60)
    settled = alice.update_post(post.id, PostUpdate(content="mi"), expected_version=1)
    editor_thread = threading.Thread(target=sync.adopt, args=(settled,))
    editor_thread.start()
    editor_thread.join(20)
    assert not editor_thread.is_alive(), "adopt waited for the save in flight"
    assert sync.version == settled.version == 2
    answer.set()
    writer.join(60)
    assert not writer.is_alive()
    return reported, sent


def test_closing_after_a_conflict_keeps_both_texts(alice: Any, clock: Any) -> None:
    post = alice.create_post(PostCreate(title="Shared", content="base"))
    sync, host = DraftSync(post.id), Host(alice, clock)
    sync.adopt(post)
    alice.update_post(post.id, PostUpdate(content="theirs"), expected_version=1)
    assert save(sync, host, snap("mine", title="Mine"), final=True) == []
    contents = sorted(alice.get_post(p.id).content for p in alice.list_posts())
    assert contents == ["mine", "theirs"]
    assert "saved as a new draft" in host.notices[0]
    assert recovery.pending() == []


def test_a_failing_store_reports_a_retryable_failure_and_keeps_the_text(clock: Any) -> None:
    sync, host = DraftSync(), Host(None, clock)
    [failed] = save(sync, host, snap("precious"))
    assert isinstance(failed, DraftSaveFailed) and failed.retryable
    [kept] = recovery.pending()
    assert kept["fields"]["content"] == "precious"
    assert "save failed" in kept["reason"]


def test_a_refused_value_is_not_retried_and_names_the_field(alice: Any, clock: Any) -> None:
    sync, host = DraftSync(), Host(alice, clock)
    [refused] = save(sync, host, snap("body", title="x" * 10_000))
    assert isinstance(refused, DraftSaveFailed) and not refused.retryable
    assert refused.error.field == "title"
    assert recovery.pending()[0]["fields"]["content"] == "body"


def test_other_writes_keep_the_version_current(alice: Any, clock: Any) -> None:
    from post001.core.models import CollectiveCreate

    alice.create_collective(CollectiveCreate(slug="dev-notes", name="Dev Notes"))
    sync, host = DraftSync(), Host(alice, clock)
    save(sync, host, snap("ready"))
    post = sync.set_collectives(alice, ["dev-notes"])
    assert sync.version == post.version
    result = sync.publish(alice, "key-1")
    assert sync.version == result.post.version
    assert sync.unpublish(alice).version == sync.version
    [saved] = save(sync, host, snap("ready, edited"))  # no conflict with itself
    assert isinstance(saved, DraftSaved)
