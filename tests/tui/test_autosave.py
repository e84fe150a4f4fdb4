"""The AutoSaver's rules, without Textual: time is whatever the test says it is."""

from __future__ import annotations

from datetime import UTC, datetime

from post001.tui.autosave import AutoSaver, SaveState

AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def saver(**kwargs: object) -> AutoSaver:
    return AutoSaver(delay=1.0, max_interval=10.0, **kwargs)  # type: ignore[arg-type]


def test_nothing_to_save_until_an_edit() -> None:
    s = saver()
    assert s.state is SaveState.NEW
    assert not s.due(100.0)
    assert s.next_due_in(0.0) is None


def test_debounce_waits_for_a_pause_in_typing() -> None:
    s = saver()
    s.edit(0.0)
    assert not s.due(0.5)
    s.edit(0.9)
    assert not s.due(1.5)
    assert s.due(2.0)
    assert s.state is SaveState.UNSAVED


def test_continuous_typing_saves_at_most_every_max_interval() -> None:
    s = saver()
    now = 0.0
    starts = []
    while now < 25.0:
        s.edit(now)
        if s.due(now):
            ticket = s.start(now)
            starts.append(now)
            s.succeeded(ticket, AT)
        now += 0.5
    assert starts == [10.0, 20.5]


def test_keys_typed_during_a_save_are_saved_by_the_next_one() -> None:
    s = saver()
    s.edit(0.0)
    first = s.start(1.0)
    s.edit(1.2)  # typed while the save is in flight
    assert not s.due(5.0)  # one save at a time
    s.succeeded(first, AT)
    assert s.dirty and s.state is SaveState.UNSAVED
    assert s.due(2.2)
    second = s.start(2.2)
    s.succeeded(second, AT)
    assert not s.dirty
    assert s.status_text() == "saved at 09:30"


def test_flush_saves_at_once() -> None:
    s = saver()
    s.edit(0.0)
    s.flush()
    assert s.due(0.0)


def test_flush_with_nothing_unsaved_does_nothing() -> None:
    s = saver()
    s.flush()
    assert not s.due(0.0)


def test_failures_retry_with_backoff_and_keep_the_draft() -> None:
    s = saver()
    s.edit(0.0)
    ticket = s.start(1.0)
    wait = s.failed(ticket, 1.1, reason="disk full")
    assert wait == 1.0
    assert s.state is SaveState.FAILED
    assert s.status_text() == "save failed (retrying)"
    assert s.dirty
    assert not s.due(1.5)
    assert s.due(2.1)
    ticket = s.start(2.1)
    assert s.failed(ticket, 2.2) == 2.0
    ticket = s.start(4.2)
    s.succeeded(ticket, AT)
    assert s.state is SaveState.SAVED


def test_offline_status_for_a_remote_store() -> None:
    s = saver()
    s.edit(0.0)
    s.failed(s.start(1.0), 1.0, offline=True)
    assert s.status_text() == "offline (saved on this machine)"


def test_a_refused_value_waits_for_the_writer() -> None:
    s = saver()
    s.edit(0.0)
    s.rejected(s.start(1.0), "title: 201 characters; the limit is 200")
    assert s.state is SaveState.INVALID
    assert not s.due(100.0)
    s.edit(101.0)
    assert s.due(102.0)


def test_conflict_blocks_until_resolved() -> None:
    s = saver()
    s.edit(0.0)
    s.conflicted(s.start(1.0))
    assert s.state is SaveState.CONFLICT
    assert not s.due(50.0)
    s.resolved(clean=False)
    assert s.due(50.0)


def test_manual_mode_saves_only_when_asked() -> None:
    s = saver(automatic=False)
    s.edit(0.0)
    assert not s.due(60.0)
    assert "ctrl+s" in s.status_text()
    s.flush()
    assert s.due(60.0)


def test_next_due_in_tells_the_timer_when_to_look_again() -> None:
    s = saver()
    s.edit(0.0)
    assert s.next_due_in(0.25) == 0.75
    s.start(1.0)
    assert s.next_due_in(1.0) is None
