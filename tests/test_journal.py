"""The offline journal file: private, durable, ordered, one user's view at a time."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from uuid import uuid4

import pytest

from post001.core import journal as J
from post001.core.models import PostUpdate
from post001.core.sync import (
    Replayer,
    SyncStatus,
    as_new_draft,
    combined_changes,
)

SERVER = "http://127.0.0.1:9"


def test_the_file_is_private_and_in_the_data_directory(tmp_path: Path) -> None:
    journal = J.Journal(SERVER, "alice")
    journal.append("save", uuid4(), str(uuid4()), {"content": "x"}, base_version=1)
    assert journal.path == Path(os.environ["POST001_DATA_DIR"]) / "journal.db"
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(journal.path) + suffix)
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    db = sqlite3.connect(journal.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    journal.close()


def test_entries_are_durable_ordered_and_per_user(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    alice, bob = J.Journal(SERVER, "alice", path), J.Journal(SERVER, "bob", path)
    post = uuid4()
    seqs = [alice.append("save", post, str(uuid4()), {"content": f"v{i}"}, base_version=i)
            for i in range(1, 4)]
    bob.append("create", uuid4(), "x", {"title": "bob's"})
    # A separate connection (another process) sees every entry at once: committed.
    again = J.Journal(SERVER, "alice", path)
    assert [e.seq for e in again.entries()] == seqs
    assert [e.payload["content"] for e in again.entries(post)] == ["v1", "v2", "v3"]
    assert again.count() == (3, 0) and bob.count() == (1, 0)
    assert J.pending_by_user(SERVER, path) == {"alice": 3, "bob": 1}
    again.mark_stuck(seqs[0], {"category": "conflict"})
    assert alice.count() == (3, 1)
    alice.release(post)
    alice.remove(seqs[0])
    assert [e.seq for e in again.entries()] == seqs[1:]
    for j in (alice, bob, again):
        j.close()


def test_identities_are_remembered_by_token_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    assert J.known_identity(path, SERVER, "p001_secret") is None
    J.remember_identity(path, SERVER, "p001_secret", "alice")
    assert J.known_identity(path, SERVER, "p001_secret") == "alice"
    assert b"p001_secret" not in path.read_bytes()  # only a hash of the token


def test_combining_pending_changes_keeps_the_latest_of_each_field() -> None:
    post = uuid4()
    entries = [
        J.Entry(1, "create", post, "a", None, {"id": str(post), "title": "T", "content": "0",
                                               "collectives": ["x"]}, _now(), "pending", None),
        J.Entry(2, "save", post, "b", 1, {"content": "1"}, _now(), "pending", None),
        J.Entry(3, "publish", post, "k", None, {}, _now(), "pending", None),
        J.Entry(4, "save", post, "c", 2, {"title": "T2"}, _now(), "pending", None),
    ]
    changes = combined_changes(entries)
    assert changes == PostUpdate(title="T2", content="1")
    new_id = uuid4()
    draft = as_new_draft(changes, new_id)
    assert (draft.id, draft.title, draft.content, draft.collectives) == (new_id, "T2", "1", [])


def test_the_status_line() -> None:
    assert SyncStatus(SERVER, "alice", False, 3, 0).describe() == \
        "offline: 3 changes kept on this machine"
    assert SyncStatus(SERVER, "alice", True, 1, 1).describe() == \
        "1 change kept on this machine; 1 needs your decision"
    assert SyncStatus(SERVER, "alice", True, 0, 0).describe() == "all changes sent"


def test_the_replayer_ticks_on_the_injected_clock() -> None:
    import queue
    import threading

    ticks: queue.Queue[None] = queue.Queue()
    ran: queue.Queue[int] = queue.Queue()
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        ran.put(count)
        if count == 2:
            raise RuntimeError("a failing tick does not stop the replayer")

    def wait(_timeout: float, _wake: threading.Event) -> None:
        ticks.get(timeout=30)

    replayer = Replayer(tick, interval=5.0, wait=wait).start()
    for expected in (1, 2, 3):
        ticks.put(None)
        assert ran.get(timeout=30) == expected
    replayer.stop(timeout=0)
    ticks.put(None)
    replayer.stop()
    assert not replayer.running


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_symlink_in_place_of_the_journal_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    target.write_bytes(b"")
    link = tmp_path / "journal.db"
    link.symlink_to(target)
    with pytest.raises(OSError):
        J.Journal(SERVER, "alice", link)


def test_preferences_and_sign_in_share_the_config_file_without_losing_a_word(
        tmp_path: Path) -> None:
    """The app's preferences writer and `post001 login`'s server records edit one file;
    neither drops the other's tables or the user's comments."""
    from post001.core import servers
    from post001.tui.config_file import save_preferences

    path = tmp_path / "config.toml"
    path.write_text("# mine\nmax_collectives_per_post = 7  # team rule\n")
    path.chmod(0o640)
    servers.record("http://Example.org:8000/", name="work", user="alice",
                   token_file=tmp_path / "tok", path=path)
    save_preferences(path, {"theme": "nord", "autosave_delay": 1.5})
    text = path.read_text()
    assert "# mine" in text and "# team rule" in text
    entry = servers.configured(path)["work"]
    assert (entry.url, entry.user, entry.token_file) == ("http://example.org:8000", "alice",
                                                         tmp_path / "tok")
    import tomllib

    data = tomllib.loads(text)
    assert (data["theme"], data["autosave_delay"], data["server_url"]) == ("nord", 1.5, "work")
    assert servers.lookup("http://example.org:8000", path) == entry
    assert servers.forget_token_file("http://example.org:8000", path) == tmp_path / "tok"
    assert servers.configured(path)["work"].token_file is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the user's mode is kept
