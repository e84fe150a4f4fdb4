"""Writing through an outage: post001.connect(url, offline=True) against a real uvicorn on
PostgreSQL behind a loopback proxy that goes down and comes back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fault_proxy import FaultProxy, every_other, fault_proxy
from remote_support import ensure_user, live_server, make_test_app, sign_in

import post001
from post001 import ConflictError, NetworkError, PostCreate, PostStatus, PostUpdate
from post001.core.offline import OfflineStore, QueuedPublish
from post001.core.remote import RemoteStore
from post001.core.sync import PendingChanged, PostRecreated, SyncConflict

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class Team:
    def __init__(self, url: str, token: str, proxy: FaultProxy, admin: sa.Engine) -> None:
        self.url = url
        self.token = token
        self.proxy = proxy
        self.admin = admin
        self.opened: list[Any] = []

    def offline_store(self, **options: Any) -> OfflineStore:
        options = {"replay_every": None, "retries": 1, "sleep": lambda _s: None, **options}
        store = post001.connect(self.proxy.url, token=self.token, offline=True, **options)
        assert isinstance(store, OfflineStore)
        self.opened.append(store)
        return store

    def direct(self) -> RemoteStore:
        """Another device of the same writer, talking to the server without the proxy."""
        store = RemoteStore(self.url, token=self.token, sleep=lambda _s: None)
        self.opened.append(store)
        return store

    def row(self, post_id: Any) -> Any:
        with self.admin.connect() as conn:
            return conn.execute(sa.text("SELECT title, content, version, status FROM posts "
                                        "WHERE id = :id"), {"id": post_id}).first()

    def count(self, sql: str) -> int:
        with self.admin.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())


@pytest.fixture
def team(pg_url: str, clock: Any, admin: sa.Engine) -> Iterator[Team]:
    app = make_test_app(pg_url, clock)
    with live_server(app) as url, httpx.Client(timeout=30) as client, \
            fault_proxy(url) as proxy:
        ensure_user(admin, "alice", clock)
        team = Team(url, sign_in(client, url, "alice"), proxy, admin)
        yield team
        for store in team.opened:
            store.close()
    app.state.ctx.close()


def test_without_offline_an_unreachable_server_is_a_network_error(team: Team) -> None:
    store = post001.connect(team.proxy.url, token=team.token, retries=0)
    post = store.create_post(PostCreate(title="t"))
    team.proxy.go_down()
    with pytest.raises(NetworkError):
        store.save_draft(post.id, PostUpdate(content="x"), expected_version=1)
    store.close()
    assert not (Path(os.environ["POST001_DATA_DIR"]) / "journal.db").exists()


def test_saves_are_kept_while_down_and_replay_by_themselves(team: Team) -> None:
    store = team.offline_store(replay_every=0.2)
    drained = threading.Event()
    seen: list[PendingChanged] = []

    def listen(event: Any) -> None:
        if isinstance(event, PendingChanged):
            seen.append(event)
            if event.pending == 0 and event.online:
                drained.set()

    store.subscribe(listen)
    post = store.create_post(PostCreate(title="Outage", content="start"))
    team.proxy.go_down()
    assert store.save_draft(post.id, PostUpdate(content="typed offline"),
                            expected_version=1) == 2
    assert store.save_draft(post.id, PostUpdate(content="typed offline, more"),
                            expected_version=2) == 3
    assert store.status().describe() == "offline: 2 changes kept on this machine"
    assert store.get_post(post.id).content == "typed offline, more"  # as the writer left it
    assert team.row(post.id).content == "start"
    drained.clear()
    team.proxy.come_back()
    assert drained.wait(10), seen  # no call from here: the replayer does it
    row = team.row(post.id)
    assert (row.content, row.version) == ("typed offline, more", 3)
    assert store.status().pending == 0 and store.online is True


def test_a_real_conflict_keeps_both_texts_until_the_writer_decides(team: Team) -> None:
    store, laptop = team.offline_store(), team.direct()
    events: list[Any] = []
    store.subscribe(events.append)
    post = store.create_post(PostCreate(title="Shared", content="v1"))
    other = store.create_post(PostCreate(title="Other", content="o1"))
    team.proxy.go_down()
    store.save_draft(post.id, PostUpdate(content="mine"), expected_version=1)
    store.save_draft(other.id, PostUpdate(content="o2"), expected_version=1)
    laptop.save_draft(post.id, PostUpdate(content="theirs"), expected_version=1)
    team.proxy.come_back()
    report = store.sync()
    assert report.sent == 1 and report.remaining == 1 and report.stuck == 1
    (conflict,) = report.conflicts
    assert conflict in events and isinstance(conflict, SyncConflict)
    assert (conflict.mine.content, conflict.theirs.content) == ("mine", "theirs")
    assert conflict.error().conflict is conflict  # a typed exception carries both too
    assert team.row(post.id).content == "theirs" and team.row(other.id).content == "o2"
    # More typing queues behind the conflict; nothing overtakes it.
    assert store.save_draft(post.id, PostUpdate(content="mine, more"),
                            expected_version=2) == 3
    assert store.sync().sent == 0 and team.row(post.id).content == "theirs"
    with pytest.raises(ConflictError) as caught:
        store.publish(post.id)
    assert caught.value.details["reason"] == "unresolved_offline_changes"
    [again] = store.conflicts()
    assert isinstance(again, SyncConflict) and again.mine.content == "mine, more"
    kept = store.resolve(post.id, "mine")
    assert kept is not None and kept.content == "mine, more"
    assert team.row(post.id).content == "mine, more" and store.status().pending == 0


@pytest.mark.parametrize("choice", ["theirs", "copy"])
def test_taking_theirs_or_keeping_both(team: Team, choice: str) -> None:
    store, laptop = team.offline_store(), team.direct()
    post = store.create_post(PostCreate(title="Shared", content="v1"))
    team.proxy.go_down()
    store.save_draft(post.id, PostUpdate(content="mine"), expected_version=1)
    laptop.save_draft(post.id, PostUpdate(content="theirs"), expected_version=1)
    team.proxy.come_back()
    assert store.sync().conflicts
    copy = store.resolve(post.id, choice)  # type: ignore[arg-type]
    assert team.row(post.id).content == "theirs"
    assert store.status().pending == 0
    if choice == "copy":
        assert copy is not None and copy.id != post.id
        assert team.row(copy.id).content == "mine"
    else:
        assert copy is None
        assert team.count("SELECT count(*) FROM posts") == 1


def test_posts_created_offline_arrive_once_even_when_answers_are_lost(team: Team) -> None:
    store = team.offline_store(retries=3)
    store.me()  # the server confirmed whose token this is; then the network went away
    team.proxy.go_down()
    made = []
    for i in range(6):
        post = store.create_post(PostCreate(title=f"offline {i}", content="draft"))
        store.save_draft(post.id, PostUpdate(content=f"final {i}"), expected_version=1)
        made.append(post.id)
    assert store.status().pending == 12
    team.proxy.come_back()
    team.proxy.drop = every_other
    report = store.sync()
    assert report.remaining == 0 and sorted(report.created) == sorted(made)
    assert team.proxy.stats.dropped >= 5
    assert team.count("SELECT count(*) FROM posts") == 6
    for i, post_id in enumerate(made):
        assert team.row(post_id).content == f"final {i}"
    assert store.sync().sent == 0


def test_publishing_offline_is_refused_unless_queued_for_later(team: Team) -> None:
    store = team.offline_store()
    post = store.create_post(PostCreate(title="Launch", content="v1"))
    team.proxy.go_down()
    with pytest.raises(NetworkError) as caught:
        store.publish(post.id)
    assert caught.value.message.startswith("Not published: publishing needs the server")
    assert any("publish when back online" in a for a in caught.value.actions)
    store.save_draft(post.id, PostUpdate(content="v2, the one to publish"), expected_version=1)
    queued = store.publish_when_online(post.id, idempotency_key="launch-1")
    assert isinstance(queued, QueuedPublish) and queued.idempotency_key == "launch-1"
    assert team.row(post.id).status == "draft"
    team.proxy.come_back()
    report = store.sync()
    assert report.published == [post.id] and report.remaining == 0
    row = team.row(post.id)
    assert (row.status, row.content) == (PostStatus.PUBLISHED.value, "v2, the one to publish")
    result = store.publish(post.id, idempotency_key="launch-1")  # the same key: replayed
    assert result.replayed
    assert team.count("SELECT count(*) FROM audit_events WHERE action = 'post.published'") == 1


def test_saves_applied_but_still_in_the_journal_are_not_a_conflict(team: Team) -> None:
    """Acknowledged, but the journal's deletes were lost (a power cut): the replay meets
    its own text on the server and treats it as sent, then the queued publish fires."""
    store, laptop = team.offline_store(), team.direct()
    post = store.create_post(PostCreate(title="Twice", content="v1"))
    team.proxy.go_down()
    store.save_draft(post.id, PostUpdate(content="v2"), expected_version=1)
    store.save_draft(post.id, PostUpdate(content="v3"), expected_version=2)
    store.publish_when_online(post.id, idempotency_key="twice-1")
    for entry in store.journal().entries(post.id)[:2]:  # sent before the lights went out
        laptop.save_draft(post.id, PostUpdate.model_validate(entry.payload),
                          expected_version=entry.base_version or 0,
                          save_id=UUID(entry.write_id))
    team.proxy.come_back()
    report = store.sync()
    assert report.conflicts == [] and report.remaining == 0
    assert report.published == [post.id]
    row = team.row(post.id)
    assert (row.content, row.status) == ("v3", "published")


def test_saves_never_overtake_the_ones_waiting(team: Team) -> None:
    store = team.offline_store()
    post = store.create_post(PostCreate(title="Order", content="v1"))
    team.proxy.go_down()
    store.save_draft(post.id, PostUpdate(content="first"), expected_version=1)
    team.proxy.come_back()  # the server is back, but the journal has not replayed yet
    assert store.save_draft(post.id, PostUpdate(content="second"), expected_version=2) == 3
    assert team.row(post.id).content == "v1" and store.status().pending == 2
    assert store.sync().sent == 2
    row = team.row(post.id)
    assert (row.content, row.version) == ("second", 3)


def test_a_post_gone_from_the_server_becomes_a_new_draft(team: Team) -> None:
    store = team.offline_store()
    post = store.create_post(PostCreate(title="Doomed", content="v1"))
    team.proxy.go_down()
    store.save_draft(post.id, PostUpdate(content="words worth keeping"), expected_version=1)
    with team.admin.begin() as conn:
        conn.execute(sa.text("DELETE FROM posts WHERE id = :id"), {"id": post.id})
    team.proxy.come_back()
    report = store.sync()
    (recreated,) = report.recreated
    assert isinstance(recreated, PostRecreated) and recreated.old_id == post.id
    assert report.remaining == 0 and report.created == [recreated.new_id]
    row = team.row(recreated.new_id)
    assert (row.title, row.content) == ("Doomed", "words worth keeping")


def test_an_unknown_identity_cannot_journal(team: Team, tmp_path: Path) -> None:
    store = team.offline_store(journal_path=tmp_path / "fresh.db")
    team.proxy.go_down()
    with pytest.raises(NetworkError) as caught:
        store.create_post(PostCreate(title="who?"))
    assert "whose token" in caught.value.message


def test_a_process_killed_while_offline_replays_on_the_next_start(team: Team) -> None:
    """SIGKILL with entries in the journal; the next store sends them by itself."""
    code = f"""
import json, sys, time
import post001
from post001 import PostCreate, PostUpdate
store = post001.connect({team.proxy.url!r}, token={team.token!r}, offline=True,
                        replay_every=None, retries=0)
store.me()
print("online", flush=True)
sys.stdin.readline()  # the test takes the server away
post = store.create_post(PostCreate(title="Survivor", content="one"))
v = store.save_draft(post.id, PostUpdate(content="one two"), expected_version=1)
v = store.save_draft(post.id, PostUpdate(content="one two three"), expected_version=v)
print(json.dumps({{"id": str(post.id), "pending": store.status().pending}}), flush=True)
time.sleep(120)
"""
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "online"
        team.proxy.go_down()
        child.stdin.write("\n")
        child.stdin.flush()
        written = json.loads(child.stdout.readline())
        assert written["pending"] == 3
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    team.proxy.come_back()
    drained = threading.Event()
    store = team.offline_store(replay_every=0.2)
    store.subscribe(lambda e: drained.set() if isinstance(e, PendingChanged)
                    and e.pending == 0 and e.online else None)
    assert drained.wait(10)
    row = team.row(written["id"])
    assert (row.title, row.content, row.version) == ("Survivor", "one two three", 3)


def test_deleting_drafts_offline_and_online(team: Team) -> None:
    store = team.offline_store()
    store.me()
    online = store.create_post(PostCreate(title="on the server", content="x"))
    team.proxy.go_down()
    local = store.create_post(PostCreate(title="never sent", content="y"))
    store.save_draft(local.id, PostUpdate(content="y, more"), expected_version=1)
    store.delete_post(local.id)  # written and deleted offline: nothing to send
    assert store.status().pending == 0
    with pytest.raises(NetworkError):  # a deletion is never queued
        store.delete_post(online.id)
    team.proxy.come_back()
    store.delete_post(online.id)
    assert store.sync().sent == 0
    assert team.count("SELECT count(*) FROM posts") == 0
