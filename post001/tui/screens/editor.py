"""The editor: title, subtitle and a Markdown body that save themselves.

Every keystroke goes to the AutoSaver; a timer asks it whether a save is due and starts
one in a worker thread. Store writes for this post run one at a time under a lock, and
each uses the version the previous one returned, so the editor never conflicts with
itself; a conflict means someone else wrote, and the writer chooses what to keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Input, Label, Markdown, Static, TextArea
from textual.worker import Worker

from post001.core import labels
from post001.core.errors import Post001Error
from post001.core.models import (
    SUBTITLE_MAX,
    TITLE_MAX,
    Post,
    PostStatus,
)
from post001.core.text import word_count
from post001.tui import recovery
from post001.tui.autosave import AutoSaver, SaveState, SaveTicket
from post001.tui.draft_sync import Choice, DraftSync, fields
from post001.tui.footer import AppFooter
from post001.tui.header import AppHeader
from post001.tui.messages import (
    ConflictResolved,
    DraftConflict,
    DraftSaved,
    DraftSaveFailed,
    DraftSnapshot,
    Unpublished,
)
from post001.tui.screens.base import BaseScreen
from post001.tui.sizes import SizeClasses
from post001.tui.widgets import share_summary_text

if TYPE_CHECKING:
    from post001.core.store import Store

#: Longer drafts are shown without syntax highlighting: tree-sitter re-highlights the
#: document on every key, which in a 10,000-line draft costs far more than the key.
HIGHLIGHT_MAX_CHARS = 100_000


class DraftBody(TextArea):
    """The body. Adds what writers expect from other editors: ctrl+home and ctrl+end go
    to the start and the end of the draft (shift selects)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+home", "document_edge(False)", "Start of draft", show=False),
        Binding("ctrl+end", "document_edge(True)", "End of draft", show=False),
        Binding("ctrl+shift+home", "document_edge(False, True)", show=False),
        Binding("ctrl+shift+end", "document_edge(True, True)", show=False),
    ]

    def action_document_edge(self, end: bool, select: bool = False) -> None:
        target = self.document.end if end else self.document.start
        self.move_cursor(target, select=select)


def markdown_area(text: str = "") -> TextArea:
    """The body: highlighted Markdown when tree-sitter and its Markdown grammar are
    installed, plain text (same keys, same wrapping) otherwise."""
    options: dict[str, Any] = {
        "soft_wrap": True, "show_line_numbers": False, "tab_behavior": "focus",
        "id": "body", "placeholder": "Write in Markdown…",
    }
    try:
        return DraftBody.code_editor(text, language="markdown", **options)
    except Exception:  # no tree-sitter, or no Markdown grammar: LanguageDoesNotExist
        return DraftBody.code_editor(text, language=None, **options)


class TitleInput(Input):
    """The title; Tab goes straight to the body, where the writing happens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: decided as the key arrives, so keys queued behind it follow the focus.
        Binding("tab", "screen.focus_body", "Body", show=False, priority=True),
    ]


#: Why a text is on this machine while its post's offline conflict is settled.
WAITING_FOR_SETTLEMENT = "waiting for an offline conflict to be settled"


class EditorScreen(SizeClasses, BaseScreen):
    """Write or edit one post."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Footer order: what a writer looks for first; at 80 columns the tail is cut.
        Binding("f9,ctrl+b", "publish", "Publish"),
        Binding("f3,ctrl+l", "pick_collectives", "Collectives"),
        # The body saves itself and says so in the status bar: ctrl+s is in help (f1).
        Binding("ctrl+s", "save_now", "Save", show=False),
        Binding("f4,ctrl+r", "toggle_preview", "Preview"),
        Binding("f2,ctrl+t", "post_settings", "Settings"),
        Binding("f5,ctrl+g", "history", "History"),
        # Priority: the body binds f6 itself (select line) and would take it first. Not in
        # the footer (80 columns hold the keys above it); help (f1) and ^p list it.
        Binding("f6,ctrl+o", "external_editor", "$EDITOR", priority=True, show=False),
        Binding("escape", "back", "Back"),
        Binding("f8", "unpublish", "Unpublish"),
    ]

    def __init__(self, post_id: UUID | None = None) -> None:
        super().__init__()
        self.sync = DraftSync(post_id)  # the store side: saves, conflicts, recovery
        self.post: Post | None = None
        self.selected: list[str] = []  # collective slugs of the stored post
        self.pending_fields: dict[str, Any] = {}  # settings not yet saved
        self.settings_inputs: dict[str, str] = {}  # raw settings text, kept even if invalid
        self.saver = AutoSaver()
        self.loaded = post_id is None
        self._expect: dict[str, str] = {}  # programmatic values whose Changed is not an edit
        self._status_shown = ""
        self._leaving = False
        self._saves: list[Worker[None]] = []  # save workers started by this editor
        #: A save's conflict held until the offline conflict being settled answers.
        self._conflict_waiting: DraftConflict | None = None
        #: Save-timer ticks so far: tests wait for ticks, not for wall-clock time.
        self.ticks = 0

    @property
    def post_id(self) -> UUID | None:
        """The post being edited (None until a new draft's first save)."""
        return self.sync.post_id

    @property
    def version(self) -> int:
        """The stored version the next save builds on."""
        return self.sync.version

    # --- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="editor"):
            with Horizontal(classes="field-line", id="title-line"):
                yield Label("Title", classes="line-label")
                # Not selected on focus: a writer coming back to fix the title would
                # replace it with their first key (a line has no undo).
                yield TitleInput(placeholder="What is it called?", max_length=TITLE_MAX,
                                 id="title", compact=True, select_on_focus=False)
            with Horizontal(classes="field-line"):
                yield Label("Subtitle", classes="line-label")
                yield Input(placeholder="optional", max_length=SUBTITLE_MAX,
                            id="subtitle", compact=True, select_on_focus=False)
            with Horizontal(id="body-row"):
                yield markdown_area()
                with VerticalScroll(id="preview-pane"):
                    yield Markdown(id="preview")
            with Horizontal(id="status-bar"):
                yield Static("", id="save-status")
                yield Static("", id="post-info")
                yield Static("0 words", id="word-count")
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        app = self.papp
        self.saver = AutoSaver(
            delay=app.settings.autosave_delay,
            max_interval=app.settings.autosave_max_interval,
            automatic=app.autosave_enabled,
        )
        self.query_one("#preview-pane").display = False
        self._tick_timer = self.set_interval(0.1, self._tick)
        self._words_timer: Timer | None = None
        self.app.app_suspend_signal.subscribe(self, self._on_suspend)
        if self.post_id is not None:
            self.query_one("#editor").loading = True
            self._load()
        self.query_one("#title", Input).focus()
        self._show_status()

    def store_opened(self, store: Store) -> None:
        self.saver.automatic = self.papp.autosave_enabled
        self._show_status()

    def _load(self) -> None:
        post_id = self.post_id
        assert post_id is not None
        self.call_store("opening the post", lambda s: s.get_post(post_id), self._loaded,
                        failed=self._load_failed)

    def _load_failed(self, error: Post001Error) -> None:
        self.show_error(error, "opening the post")
        self.dismiss_editor()

    def _loaded(self, post: Post) -> None:
        self.query_one("#editor").loading = False
        self._fill(post)
        self.loaded = True
        self.saver.mark_clean()
        self.saver.saved_at = post.updated_at  # "saved at …" from the start: it is stored
        self._show_status()
        self.query_one("#body", TextArea).focus()

    def _fill(self, post: Post) -> None:
        """Show `post` in the widgets without counting it as an edit."""
        self.sync.adopt(post)
        self._remember(post)
        for widget_id, value in (("title", post.title), ("subtitle", post.subtitle)):
            widget = self.query_one(f"#{widget_id}", Input)
            if widget.value != value:
                self._expect[widget_id] = value
                widget.value = value
        body = self.query_one("#body", TextArea)
        if body.text != post.content:
            if len(post.content) > HIGHLIGHT_MAX_CHARS:
                body.language = None  # before loading: no highlighting pass at all
            self._expect["body"] = post.content
            body.load_text(post.content)
        self._count_words()

    def _remember(self, post: Post) -> None:
        self.post = post
        self.selected = [share.collective for share in post.shares]
        self._show_info()

    # --- edits ------------------------------------------------------------------------------
    @on(Input.Changed, "#title, #subtitle")
    def _field_changed(self, event: Input.Changed) -> None:
        assert event.input.id is not None
        if self._expect.get(event.input.id) == event.value:
            del self._expect[event.input.id]
            return
        self._edited()

    @on(TextArea.Changed, "#body")
    def _body_changed(self, event: TextArea.Changed) -> None:
        if "body" in self._expect and event.text_area.text == self._expect["body"]:
            del self._expect["body"]
            return
        self._edited()
        # Counting words in a long draft on every key would slow typing: count after a pause.
        if self._words_timer is not None:
            self._words_timer.stop()
        self._words_timer = self.set_timer(0.3, self._count_words)

    def _edited(self) -> None:
        if not self.loaded:
            return
        self.saver.edit(self._now())
        self._show_status()

    def _count_words(self) -> None:
        self._words_timer = None
        body = self.query_one("#body", TextArea)
        text = body.text
        self._fit_highlighting(body, len(text))
        words = word_count(text)
        self.query_one("#word-count", Static).update(f"{words:,} word{'s' * (words != 1)}")
        if self.query_one("#preview-pane").display:
            self._render_preview()

    @staticmethod
    def _fit_highlighting(body: TextArea, size: int) -> None:
        """Markdown highlighting while the draft is short enough to keep typing fast
        (switched back on below half the limit, so it does not flicker at the edge).

        Setting `TextArea.language` rebuilds the document and moves the cursor to (0, 0):
        the writer's selection and scroll position are put back in the same call, before
        the next key is handled, so typing goes on where it was."""
        if body.language is not None and size > HIGHLIGHT_MAX_CHARS:
            language: str | None = None
        elif (body.language is None and size < HIGHLIGHT_MAX_CHARS // 2
              and "markdown" in body.available_languages):
            language = "markdown"
        else:
            return
        selection = body.selection
        scroll_x, scroll_y = body.scroll_offset
        try:
            body.language = language
        except Exception:  # no tree-sitter grammar here: plain text it stays
            body.language = None
        body.selection = selection
        body.scroll_to(scroll_x, scroll_y, animate=False, immediate=True)

    def action_focus_body(self) -> None:
        # set_focus, not widget.focus(): the latter is deferred (call_later), so keys
        # typed right after Tab (a paste, a fast typist) would still land in the title.
        self.set_focus(self.query_one("#body", TextArea))

    # --- saving -------------------------------------------------------------------------
    def _now(self) -> float:
        return self.papp.clock().timestamp()

    def _tick(self) -> None:
        self.ticks += 1
        now = self._now()
        if self.saver.due(now):
            opened = self.papp.store is not None
            if opened and not self._settling():
                self._start_save()
            elif not self.saver.local_copy_current:
                # No store to save to (yet), or an offline conflict of this post is being
                # settled: the version this editor holds is then the journal's guess,
                # and a save sent on it could land on the text being chosen. The text
                # waits on this machine until `settled` (or a store) comes.
                self.keep_locally(WAITING_FOR_SETTLEMENT if opened
                                  else "the database could not be opened")
                self.saver.kept_locally(now)
        self._show_status()

    def _settling(self) -> bool:
        post_id = self.post_id
        return post_id is not None and self.papp.settling(post_id)

    def keep_locally(self, reason: str, snap: DraftSnapshot | None = None) -> None:
        """Write the text (now, on this thread) to the recovery folder. A later
        successful save removes the copy."""
        self.sync.keep_locally(snap or self.snapshot(), reason)

    def snapshot(self) -> DraftSnapshot:
        return DraftSnapshot(
            title=self.query_one("#title", Input).value,
            subtitle=self.query_one("#subtitle", Input).value,
            content=self.query_one("#body", TextArea).text,
            extra=dict(self.pending_fields),
        )

    def _start_save(self, *, final: bool = False) -> Worker[None]:
        # Everything a save needs from the app is taken here, on the UI thread: a save
        # still running after the editor closed has no app to ask.
        app = self.papp
        snap = self.snapshot()
        ticket = self.saver.start(self._now())
        self._show_status()

        report = app.post_message if final else self.post_message

        def job() -> None:
            self.sync.save(app, snap, ticket, final=final, report=report)

        # Owned by the app, so closing the editor does not cancel a save under way.
        worker: Worker[None] = app.run_worker(
            job, thread=True, group="draft-save", exit_on_error=False, name="save draft"
        )
        self._saves = [w for w in self._saves if not w.is_finished] + [worker]
        if final:
            app.background_saves.add(worker)
        return worker

    @on(DraftSaved)
    def _saved(self, event: DraftSaved) -> None:
        post = event.post
        if post is not None:
            self.saver.succeeded(event.ticket, post.updated_at)
            self._clear_saved_fields(post)
            self._remember(post)
        else:
            saved_at = event.saved_at or self.papp.clock()
            self.saver.succeeded(event.ticket, saved_at)
            snap = event.snapshot
            if self.post is not None and snap is not None and event.version > self.post.version:
                # Only the version came back: bring the copy we hold up to date cheaply.
                self.post = self.post.model_copy(update={
                    "version": event.version, "updated_at": saved_at, "title": snap.title,
                    "subtitle": snap.subtitle, "content": snap.content})
                self._show_info()
        self._show_status()

    def _clear_saved_fields(self, post: Post) -> None:
        for key in list(self.pending_fields):
            if getattr(post, key, object()) == self.pending_fields[key]:
                del self.pending_fields[key]
                self.settings_inputs.pop(key, None)

    @on(DraftSaveFailed)
    def _save_failed(self, event: DraftSaveFailed) -> None:
        error = event.error
        if event.retryable:
            wait = self.saver.failed(event.ticket, self._now(),
                                     offline=self.papp.store is not None
                                     and self.papp.store.is_remote,
                                     reason=error.message)
            self.notify(f"{error.message}\nYour draft is kept; retrying in {wait:g} s.",
                        title=error.title, severity="warning", timeout=max(3.0, wait))
        else:
            self.saver.rejected(event.ticket, error.message)
            if error.field and error.field in self.pending_fields:
                self.pending_fields.pop(error.field, None)  # the raw text stays in settings
            self.show_error(error, "saving")
        self._show_status()

    @on(DraftConflict)
    def _conflict(self, event: DraftConflict) -> None:
        from post001.tui.screens.conflict import ConflictScreen

        self.saver.conflicted(event.ticket)
        if self.sync.overtaken(event.current_version):
            # The save's worker resends when it already knows (DraftSync.save); this is
            # the editor taking that version on after the conflict was reported. Nobody
            # else wrote: the text goes again, on it.
            self.saver.resolved(clean=False)
            self._show_status()
            return
        self._show_status()
        # Until the writer chooses, their text is also on this machine (quitting now
        # must not lose it).
        self.keep_locally("changed elsewhere: waiting for you to choose a version")
        post_id = self.post_id
        assert post_id is not None
        if self._settling():
            # The writer is settling this post's offline conflict, or its answer is on
            # the way: the version this save met may be the one they are choosing.
            # Asking twice about one conflict would be noise; `settled` decides.
            self._conflict_waiting = event
            return
        self.app.push_screen(ConflictScreen(post_id, event.mine), self._resolve_conflict)

    def _resolve_conflict(self, choice: str | None) -> None:
        answer: Choice = "copy"  # no answer: keep both
        if choice in ("mine", "theirs"):
            answer = "mine" if choice == "mine" else "theirs"
        mine = self.snapshot()  # what the editor shows now: never older than the conflict
        generation = self.saver.generation  # the edits `mine` holds

        def resolve(store: Store) -> tuple[str, Post]:
            return answer, self.sync.resolve(store, answer, mine)

        self.call_store("resolving the conflict", resolve,
                        lambda value: self._resolved(value, generation),
                        failed=self._resolve_failed)

    def _resolve_failed(self, error: Post001Error) -> None:
        self.show_error(error, "resolving the conflict")
        self.saver.resolved(clean=False)

    def _resolved(self, value: tuple[str, Post], generation: int | None = None) -> None:
        choice, post = value
        self.sync.forget_local()  # the copy kept while the choice was open
        if choice == "theirs":
            # The writer chose to drop their text; keep a copy on this machine anyway.
            self.sync.set_aside(post.id, fields(self.snapshot()),
                                reason="your text, set aside when you took the stored version")
            self._fill(post)
            self.saver.resolved(clean=True)
            self.saver.succeeded(self.saver.start(self._now()), post.updated_at)
            self.notify(f"Showing the stored version. A copy of your text is kept in "
                        f"{recovery.recovery_dir()}.", title="Took the stored version")
        else:
            self._remember(post)
            # Only the text captured for the choice is stored: keys typed while it was
            # being written are saved next.
            if generation is None:
                generation = self.saver.generation
            self.saver.resolved(clean=True, generation=generation)
            self.saver.succeeded(SaveTicket(generation, self._now()), post.updated_at)
            if choice == "copy":
                self.sync.recovery_key = str(post.id)
                self.notify("Your text is now a separate draft; the stored post is unchanged.",
                            title="Saved as a new draft")
            else:
                self.notify("Your text replaced the stored version (the old one is in "
                            "History).", title="Kept your text")
        self.post_message(ConflictResolved(choice, post))
        self._show_status()

    def action_save_now(self) -> None:
        if not self.saver.dirty and self.post_id is not None:
            self.notify("Nothing new to save.", timeout=2)
            return
        if not self.saver.dirty:
            self.saver.edit(self._now())  # an empty new draft: the writer asked to keep it
        self.saver.flush()
        self._tick()

    def flush(self, *, final: bool = False) -> list[Worker[Any]]:
        """Save what is unsaved now. Returns the workers a quitting app waits for."""
        if not self.loaded:
            return []
        self.saver.flush()
        if final and self.saver.dirty and self.papp.store is None:
            # No store to save to, and quitting must not wait for one: keep it here.
            self.keep_locally("closed while the database could not be opened")
            self.papp.count_recovered()
            return []
        if self.saver.due(self._now()):
            return [self._start_save(final=final)]
        if final and self.saver.blocked and self.saver.dirty:
            # Refused (invalid) or waiting for a conflict choice: nothing goes to the
            # store, so the text stays on this machine, now.
            reason = (f"not saved: {self.saver.reason}" if self.saver.state is SaveState.INVALID
                      else "changed elsewhere: closed before choosing a version")
            self.keep_locally(reason)
            self.papp.count_recovered()
            self.notify(f"Your text is kept on this machine ({recovery.recovery_dir()}); "
                        f"restore it from the Recovered screen.",
                        title="Draft not saved to the store", severity="warning")
            return []
        running = [w for w in self._saves if not w.is_finished]
        if self.saver.dirty and running:
            # A save is in flight: queue the rest to run when it finishes.
            return [*running, *self._after(running)]
        return running

    def _after(self, running: list[Worker[Any]]) -> list[Worker[Any]]:
        # Taken now, on the UI thread: the editor may be gone when the job runs.
        app = self.papp
        snap = self.snapshot()
        now = self._now()

        def job() -> None:
            for worker in running:
                while not worker.is_finished:
                    time.sleep(0.02)
            self.sync.save(app, snap, SaveTicket(-1, now), final=True,
                           report=app.post_message)

        worker: Worker[None] = app.run_worker(job, thread=True, group="draft-save",
                                              exit_on_error=False)
        app.background_saves.add(worker)
        return [worker]

    def flush_for_exit(self) -> list[Worker[Any]]:
        return self.flush(final=True)

    def _on_suspend(self, _app: object) -> None:
        # A save started now would only run after the terminal comes back: copy the text
        # to this machine first, synchronously.
        if self.saver.dirty:
            self.keep_locally("suspended with unsaved changes")
        self.flush()

    # --- status -----------------------------------------------------------------------------
    def _show_status(self) -> None:
        saved_at = self.saver.saved_at
        local = saved_at.astimezone() if saved_at is not None else None
        text = self.saver.status_text(local)
        if self.saver.state is SaveState.SAVED and self.papp.team_pending:
            # The store took the save into its offline journal: it is safe on this
            # machine but not on the server yet (the header counts what is waiting).
            text = "kept on this machine (offline)"
        if text != self._status_shown:
            self._status_shown = text
            status = self.query_one("#save-status", Static)
            status.update(text)
            status.set_class(self.saver.state in (SaveState.FAILED, SaveState.OFFLINE,
                                                  SaveState.CONFLICT, SaveState.INVALID),
                             "-problem")

    def _show_info(self) -> None:
        post = self.post
        if post is None:
            info = "draft · not shared yet"
        else:
            count = len(post.shares)
            shares = (f"{count} collective{'s' * (count != 1)}: "
                      f"{share_summary_text(post.shares).plain}") if count \
                else "not shared yet"
            info = f"{labels.post_label(post.status)} · v{post.version} · {shares}"
        self.query_one("#post-info", Static).update(info)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unpublish":
            return self.post is not None and self.post.status in (
                PostStatus.PUBLISHED, PostStatus.SCHEDULED)
        return True

    # --- leaving ----------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss_editor()

    def before_pop(self) -> None:
        """Every way off this screen comes here (the app's `pop_screen`): save now."""
        if self._leaving:
            return
        self._leaving = True
        self.flush(final=True)

    def dismiss_editor(self) -> None:
        self.before_pop()
        if self.app.screen is self:
            self.app.pop_screen()
        from post001.tui.screens.dashboard import DashboardScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.refresh_data()

    # --- settings, collectives, preview, history, $EDITOR, publish ------------------------
    def action_post_settings(self) -> None:
        from post001.tui.screens.settings import PostSettingsScreen

        self.app.push_screen(
            PostSettingsScreen(self.post, self.settings_inputs, self.pending_fields,
                               subtitle=self.query_one("#subtitle", Input).value,
                               on_exit=self._settings_done),
            self._settings_done,
        )

    def _settings_done(self, result: tuple[dict[str, Any], dict[str, str]] | None) -> None:
        if result is None:
            return
        valid, raw = result
        self.settings_inputs = raw
        subtitle = valid.pop("subtitle", None)
        if subtitle is not None and subtitle != self.query_one("#subtitle", Input).value:
            self.query_one("#subtitle", Input).value = subtitle  # counts as an edit
        changed = {k: v for k, v in valid.items()
                   if self.post is None or getattr(self.post, k, None) != v}
        if changed:
            self.pending_fields.update(changed)
            self.saver.edit(self._now())
            self.saver.flush()
        self._show_status()

    def ensure_saved(self, then: Any) -> None:
        """Make sure the post exists in the store and holds the latest text, then `then()`."""
        if not self.saver.dirty and self.post_id is not None and not self.saver.in_flight:
            then()
            return
        if not self.saver.dirty and self.post_id is None:
            self.saver.edit(self._now())
        self.saver.flush()
        self._tick()
        self._when_clean(then, deadline=time.monotonic() + 30)

    def _when_clean(self, then: Any, deadline: float) -> None:
        if not self.saver.dirty and not self.saver.in_flight and self.post_id is not None:
            then()
        elif self.saver.blocked or time.monotonic() > deadline:
            self.notify("Save the draft first (see the status line).", severity="warning")
        else:
            self.set_timer(0.05, lambda: self._when_clean(then, deadline))

    def action_pick_collectives(self) -> None:
        self.ensure_saved(self._open_picker)

    def _open_picker(self) -> None:
        from post001.tui.screens.picker import CollectivePicker

        self.app.push_screen(CollectivePicker(list(self.selected)), self._picked)

    def _picked(self, slugs: list[str] | None) -> None:
        if slugs is None:
            return
        from post001.tui.screens.preflight import apply_collectives

        apply_collectives(self, slugs)

    def collectives_applied(self, post: Post) -> None:
        self.sync.caught_up(post.version)
        self._remember(post)

    def action_toggle_preview(self) -> None:
        pane = self.query_one("#preview-pane")
        pane.display = not pane.display
        if pane.display:
            self._render_preview()

    def _render_preview(self) -> None:
        title = self.query_one("#title", Input).value
        body = self.query_one("#body", TextArea).text
        self.query_one("#preview", Markdown).update(f"# {title}\n\n{body}" if title else body)

    def action_history(self) -> None:
        from post001.tui.screens.history import HistoryScreen

        self.ensure_saved(lambda: self.app.push_screen(
            HistoryScreen(self.post_id), self._restored))  # type: ignore[arg-type]

    def _restored(self, post: Post | None) -> None:
        if post is None:
            return
        self._fill(post)
        self.saver.mark_clean()
        self.saver.succeeded(self.saver.start(self._now()), post.updated_at)
        self._show_status()

    def settled(self, post: Post, *, mine: bool) -> None:
        """An offline conflict was settled and the server now holds `post`. The choice
        is made in a dialog and the server answers a moment later: whatever the writer
        typed in between is never replaced. With their own text chosen it builds on
        `post`'s version (the next auto-save sends it); with the server's text or a
        copy, it is set aside on this machine (as the online conflict's "theirs" does)
        before `post` is shown."""
        waiting, self._conflict_waiting = self._conflict_waiting, None
        if not (self.saver.dirty or self.saver.in_flight):
            self._restored(post)
        elif mine:
            self.sync.adopt(post)
            self._remember(post)
            if waiting is not None:
                self._conflict(waiting)  # sent again when `post` is what it met
                return
            self.saver.flush()  # what waited for the settlement goes now
        else:
            self.sync.set_aside(post.id, fields(self.snapshot()),
                                reason="your text, typed while an offline conflict was "
                                       "being settled")
            self.sync.forget_local()  # an older copy of the same text, kept while waiting
            self.papp.count_recovered()
            self._restored(post)
        if waiting is not None:
            self.saver.resolved(clean=True)  # the editor shows `post`; its text is kept

    def settle_failed(self) -> None:
        """The offline conflict's answer did not reach the server: a save's conflict
        that waited for it is the writer's to settle now."""
        waiting, self._conflict_waiting = self._conflict_waiting, None
        if waiting is not None:
            self._conflict(waiting)

    async def action_external_editor(self) -> None:
        body = self.query_one("#body", TextArea)
        command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        # Nothing runs while the terminal is suspended: save (or at least copy the text
        # to this machine) before handing it over.
        if self.saver.dirty:
            self.keep_locally("opened in $EDITOR with unsaved changes")
        for worker in self.flush():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.wait(), timeout=5)
        with tempfile.TemporaryDirectory(prefix="post001-") as folder:
            path = Path(folder) / "draft.md"
            path.write_text(body.text, encoding="utf-8")
            try:
                with self.app.suspend():
                    subprocess.run([*shlex.split(command), str(path)], check=False)
            except Exception as exc:
                self.notify(f"Could not run {command!r}: {exc}", severity="error")
                return
            text = path.read_text(encoding="utf-8")
        if text != body.text:
            body.load_text(text)  # posts Changed: counted as an edit and auto-saved

    def action_publish(self) -> None:
        self.ensure_saved(self._open_preflight)

    def _open_preflight(self) -> None:
        from post001.tui.screens.preflight import PreflightScreen, publish_now

        post_id = self.post_id
        assert post_id is not None
        if not self.papp.validation_enabled:
            publish_now(self, post_id)
            return
        self.app.push_screen(PreflightScreen(self, post_id, list(self.selected)))

    def action_unpublish(self) -> None:
        if self.post_id is None:
            return

        def unpublish(store: Store) -> Post:
            return self.sync.unpublish(store)

        def done(post: Post) -> None:
            self._remember(post)
            self.post_message(Unpublished(post))
            self.notify("The post and its shares are drafts again.", title="Unpublished")

        self.call_store("unpublishing", unpublish, done)
