"""When to save a draft, as a pure state machine driven by the caller's clock.

No Textual and no store here: the editor feeds it keystrokes and save outcomes, asks it
whether a save is due, and shows its status line. Time is whatever float the caller
passes in (seconds), so tests move a fake clock instead of sleeping.

The rules (docs/product.md, "How writing goes", step 1):

* a save starts about `delay` seconds after the last keystroke (debounce);
* during continuous typing, at most `max_interval` seconds pass between saves;
* leaving the screen, suspending or quitting asks for a save at once (`flush`);
* only one save is in flight; keys typed meanwhile are saved by the next one;
* a failed save is retried with exponential backoff, the draft stays in the editor;
* a conflict or an invalid value stops saving until the writer acts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

#: Seconds to wait before retry n (the last value repeats).
RETRY_BACKOFF: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class SaveState(enum.StrEnum):
    NEW = "new"  # nothing typed yet, nothing stored
    SAVED = "saved"
    UNSAVED = "unsaved"
    SAVING = "saving"
    FAILED = "failed"  # retrying
    OFFLINE = "offline"  # retrying; the text is kept on this machine
    CONFLICT = "conflict"  # waiting for the writer to choose a version
    INVALID = "invalid"  # a value the store refuses; waiting for an edit


@dataclass(frozen=True, slots=True)
class SaveTicket:
    """Identifies one save: the edit generation it captured."""

    generation: int
    started_at: float


class AutoSaver:
    """Decides when the editor saves and what its status line says."""

    def __init__(
        self,
        *,
        delay: float = 1.0,
        max_interval: float = 10.0,
        automatic: bool = True,
        backoff: tuple[float, ...] = RETRY_BACKOFF,
    ) -> None:
        self.delay = delay
        self.max_interval = max_interval
        self.automatic = automatic
        self.backoff = backoff
        self._edits = 0  # generation: +1 per change
        self._saved = 0  # generation the store holds
        self._last_edit: float | None = None
        self._dirty_since: float | None = None  # first edit not covered by a started save
        self._in_flight: SaveTicket | None = None
        self._flush = False
        self._failures = 0
        self._retry_at: float | None = None
        self._offline = False
        self._blocked: SaveState | None = None  # CONFLICT or INVALID
        self._reason = ""
        self._local: int | None = None  # generation copied to this machine (no store yet)
        self.saved_at: datetime | None = None
        self.saves_started = 0

    # --- inputs ---------------------------------------------------------------------------
    def edit(self, now: float) -> None:
        """The writer changed something."""
        self._edits += 1
        self._last_edit = now
        if self._dirty_since is None:
            self._dirty_since = now
        if self._blocked is SaveState.INVALID:
            self._blocked = None  # the writer is fixing it: try again after the debounce
            self._reason = ""

    def flush(self) -> None:
        """Save as soon as possible (save-now key, leaving, suspending, quitting)."""
        if self.dirty:
            self._flush = True
            self._retry_at = None  # the writer asked: do not wait out the backoff

    def start(self, now: float) -> SaveTicket:
        """A save begins now and captures every edit made so far."""
        ticket = SaveTicket(self._edits, now)
        self._in_flight = ticket
        self._flush = False
        self._dirty_since = None
        self.saves_started += 1
        return ticket

    def succeeded(self, ticket: SaveTicket, saved_at: datetime) -> None:
        self._finish(ticket)
        self._saved = max(self._saved, ticket.generation)
        self._failures = 0
        self._retry_at = None
        self._offline = False
        self._local = None
        self.saved_at = saved_at
        if self.dirty and self._dirty_since is None:
            self._dirty_since = ticket.started_at

    def failed(self, ticket: SaveTicket, now: float, *, offline: bool = False,
               reason: str = "") -> float:
        """A retryable failure (network, database). Returns seconds until the retry."""
        self._finish(ticket)
        wait = self.backoff[min(self._failures, len(self.backoff) - 1)]
        self._failures += 1
        self._retry_at = now + wait
        self._offline = offline
        self._reason = reason
        self._restore_dirty(ticket)
        return wait

    def rejected(self, ticket: SaveTicket, reason: str) -> None:
        """The store refused a value (validation): wait for the writer to change it."""
        self._finish(ticket)
        self._blocked = SaveState.INVALID
        self._reason = reason
        self._restore_dirty(ticket)

    def conflicted(self, ticket: SaveTicket) -> None:
        self._finish(ticket)
        self._blocked = SaveState.CONFLICT
        self._restore_dirty(ticket)

    def resolved(self, *, clean: bool, generation: int | None = None) -> None:
        """The writer chose a version. `clean`: the store now holds what the editor
        showed at edit `generation` (default: everything so far); edits made after it,
        while the choice was being written, are saved at once."""
        self._blocked = None
        self._reason = ""
        if clean:
            self._saved = self._edits if generation is None else max(self._saved, generation)
        if self.dirty:
            self.flush()
        else:
            self._dirty_since = None
            self._flush = False

    def kept_locally(self, now: float) -> None:
        """No store to save to: the text so far is on this machine. Saving to the store
        stays due, and starts as soon as there is one."""
        self._local = self._edits
        self._dirty_since = None
        if self._last_edit is None:
            self._last_edit = now

    def mark_clean(self) -> None:
        """The editor was (re)loaded from the store: nothing to save."""
        self._saved = self._edits
        self._dirty_since = None
        self._flush = False
        self._retry_at = None
        self._failures = 0
        self._local = None

    # --- questions --------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._edits > self._saved

    @property
    def in_flight(self) -> bool:
        return self._in_flight is not None

    @property
    def blocked(self) -> bool:
        return self._blocked is not None

    @property
    def generation(self) -> int:
        """The current edit generation (+1 per change)."""
        return self._edits

    @property
    def reason(self) -> str:
        """Why the last save failed or was refused ("" if it did not)."""
        return self._reason

    @property
    def local_copy_current(self) -> bool:
        """The text as it is now was copied to this machine (see `kept_locally`)."""
        return self._local == self._edits

    @property
    def flushing(self) -> bool:
        return self._flush

    def due(self, now: float) -> bool:
        """Should a save start now?"""
        if self._in_flight is not None or not self.dirty or self._blocked is not None:
            return False
        if self._flush:
            return True
        if self._retry_at is not None:
            return now >= self._retry_at
        if not self.automatic:
            return False
        assert self._last_edit is not None
        if now - self._last_edit >= self.delay:
            return True
        return self._dirty_since is not None and now - self._dirty_since >= self.max_interval

    def next_due_in(self, now: float) -> float | None:
        """Seconds until `due` may become true without new input (None: never)."""
        if self._in_flight is not None or not self.dirty or self._blocked is not None:
            return None
        if self._flush:
            return 0.0
        if self._retry_at is not None:
            return max(0.0, self._retry_at - now)
        if not self.automatic or self._last_edit is None:
            return None
        wait = self._last_edit + self.delay - now
        if self._dirty_since is not None:
            wait = min(wait, self._dirty_since + self.max_interval - now)
        return max(0.0, wait)

    @property
    def state(self) -> SaveState:
        if self._blocked is not None:
            return self._blocked
        if self._in_flight is not None:
            return SaveState.SAVING
        if self._retry_at is not None or (self._failures and self.dirty):
            return SaveState.OFFLINE if self._offline else SaveState.FAILED
        if self.dirty and self._local is not None:
            return SaveState.OFFLINE
        if self.dirty:
            return SaveState.UNSAVED
        if self.saved_at is not None:
            return SaveState.SAVED
        return SaveState.NEW

    def status_text(self, local_time: datetime | None = None) -> str:
        """The editor's status line. `local_time`: saved_at converted for display."""
        state = self.state
        if state is SaveState.SAVING:
            return "saving…"
        if state is SaveState.SAVED:
            shown = local_time or self.saved_at
            assert shown is not None
            return f"saved at {shown:%H:%M}"
        if state is SaveState.UNSAVED:
            return "unsaved changes" if self.automatic else "unsaved changes (ctrl+s saves)"
        if state is SaveState.FAILED:
            return "save failed (retrying)"
        if state is SaveState.OFFLINE:
            return "offline (saved on this machine)"
        if state is SaveState.CONFLICT:
            return "changed elsewhere: choose a version"
        if state is SaveState.INVALID:
            return f"not saved: {self._reason}" if self._reason else "not saved"
        return "new draft" if self.automatic else "new draft (ctrl+s saves)"

    # --- internals --------------------------------------------------------------------------
    def _finish(self, ticket: SaveTicket) -> None:
        if self._in_flight == ticket:
            self._in_flight = None

    def _restore_dirty(self, ticket: SaveTicket) -> None:
        if self._dirty_since is None or ticket.started_at < self._dirty_since:
            self._dirty_since = ticket.started_at
