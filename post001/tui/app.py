"""The post001 terminal app: one factory builds it the same way for the CLI and for tests.

The settings are loaded and the store is opened in a worker thread after the first screen
paints, so start-up stays light (nothing here imports pydantic, pydantic-settings or
SQLAlchemy before then) and the UI thread never waits on a database or a server.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker

from post001.core.clock import Clock, utcnow
from post001.core.errors import DatabaseError, Post001Error
from post001.core.limits import DEFAULT_CONTENT_MAX, DEFAULT_MAX_COLLECTIVES
from post001.tui.messages import DraftSaved, RecoveredFound, StoreFailed, StoreOpened
from post001.tui.team import SignInNeeded, TeamModeMixin, TeamTarget, needs_sign_in

if TYPE_CHECKING:
    from textual.command import Provider

    from post001.core.config import Settings
    from post001.core.store import Store
    from post001.tui.screens.base import StoreMixin

StoreFactory = Callable[[], "Store"]


#: Seconds between attempts to open a store that is not there yet (capped backoff).
OPEN_BACKOFF: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0)


def _post001_commands() -> type[Provider]:
    """The command palette's provider, imported when the palette first opens (Textual
    accepts a callable in COMMANDS), not at launch: the first frame does not need it."""
    from post001.tui.commands import Post001Commands

    return Post001Commands


@dataclass(frozen=True, slots=True)
class StoreFacts:
    """What the app learns from a store once it answers: its limits and switches."""

    max_collectives: int
    max_content: int
    multi_collective: bool
    autosave: bool
    validation: bool
    username: str

    @classmethod
    def learn(cls, store: Store) -> StoreFacts:
        """Ask the store (a worker thread: a server may take its time)."""
        flags = store.flags()
        max_collectives, max_content = store.limits()
        return cls(max_collectives=max_collectives, max_content=max_content,
                   multi_collective=store.multi_collective(),
                   autosave=flags.enable_enhanced_editor,
                   validation=flags.enable_validation, username=store.me().username)


class Post001App(TeamModeMixin, App[None]):
    """Write one post, publish it to many collectives."""

    TITLE = "post001"
    SUB_TITLE = "write once, publish to many collectives"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    COMMANDS = App.COMMANDS | {_post001_commands}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        # Shown by the dashboard as "q Quit"; shown here too, every footer said it twice.
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(
        self,
        store_factory: StoreFactory,
        settings: Settings | None = None,
        clock: Clock = utcnow,
        *,
        demo: bool = False,
        team: TeamTarget | None = None,
    ) -> None:
        super().__init__()
        self.store_factory = store_factory
        #: The team server and how to sign in to it (post001/tui/team.py); None: a database.
        self.team = team
        self.settling_posts = set()
        self._settings = settings
        self._settings_lock = threading.Lock()
        self.clock = clock
        self.demo = demo
        self.store: Store | None = None
        # Until the store says otherwise (Store.limits()).
        self.max_collectives = DEFAULT_MAX_COLLECTIVES
        self.max_content = DEFAULT_CONTENT_MAX
        #: Drafts kept on this machine by failed saves (see recovery.py), as last counted.
        self.recovered_count = 0
        self.multi_collective = True
        self.autosave_enabled = True
        self.validation_enabled = True
        self.username = ""
        self._store_ready = threading.Event()
        self._quitting = False
        #: Saves handed over by editors that were closed; quitting waits for them.
        self.background_saves: set[Worker[Any]] = set()
        if settings is not None:
            self._apply_settings(settings)
        if demo:
            self.sub_title = "demo database: try everything, nothing here is real"

    # --- settings -------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The user's settings; loaded by the start-up worker (or here, if asked first)."""
        with self._settings_lock:
            if self._settings is None:
                self._settings = self._load_settings()
            return self._settings

    def _load_settings(self) -> Settings:
        from post001.core.config import Settings, config_path

        try:
            return Settings()
        except Exception as exc:
            # A broken config file must not stop the writer: say why and use the defaults.
            message = f"{config_path()}: {exc}\nUsing the default settings."
            self.notify(message, title="Settings not loaded", severity="error")  # thread-safe
            return Settings.model_construct()

    @property
    def settings_loaded(self) -> bool:
        return self._settings is not None

    def _apply_settings(self, settings: Settings) -> None:
        self.max_collectives = settings.max_collectives_per_post
        self.max_content = settings.max_content_chars
        if settings.theme in self.available_themes and settings.theme != self.theme:
            self.theme = settings.theme

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run the app (the CLI's way in; tests use `run_test`).

        What is imported by now (Textual, Rich, this package) lives as long as the process:
        `gc.freeze` takes it out of the collector's passes. At launch the full passes
        walked some 57,000 objects each, twice the bare Textual app's work in the
        collector (benchmarks/bench_tui.py's launch figure)."""
        gc.freeze()
        return super().run(*args, **kwargs)

    # --- the store --------------------------------------------------------------------------
    def on_mount(self) -> None:
        from post001.tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())
        # Just after the first paint: importing the database layer (in a thread, but it
        # holds the GIL in long stretches) must not delay the first screen.
        self.call_after_refresh(lambda: self.set_timer(0.05, self._open_store))

    @work(thread=True, group="store-open", exit_on_error=False)
    def _open_store(self) -> None:
        if not self.settings_loaded:
            settings = self.settings  # pydantic-settings and the config file, off the UI thread
            self.call_from_thread(self._apply_settings, settings)
        self.count_recovered()
        attempt = 0
        while True:
            store: Store | None = None
            try:
                store = self.store_factory()
                self.watch_team_store(store)
                facts = StoreFacts.learn(store)
            except Exception as exc:
                err = exc if isinstance(exc, Post001Error) else DatabaseError(str(exc))
                offline_user = self.team_opened_offline(store, err)
                if store is not None and offline_user is not None:
                    # A team server away at start: write to the journal meanwhile.
                    self.username = offline_user
                    self.store = store
                    self._store_ready.set()
                    self.post_message(StoreOpened(store))
                    return
                self.close_team_store(store)
                if self.team is not None and needs_sign_in(err):
                    self.post_message(SignInNeeded(err))  # a sign-in, not a retry loop
                    return
                wait = OPEN_BACKOFF[min(attempt, len(OPEN_BACKOFF) - 1)]
                attempt += 1
                self.post_message(StoreFailed(err, wait))
                time.sleep(wait)
                if self._quitting:
                    return
                continue
            self.apply_store_facts(facts)
            self.store = store
            self._store_ready.set()
            self.post_message(StoreOpened(store))
            return

    def apply_store_facts(self, facts: StoreFacts) -> None:
        self.max_collectives = facts.max_collectives if facts.multi_collective else 1
        self.max_content = facts.max_content
        self.multi_collective = facts.multi_collective
        self.autosave_enabled = facts.autosave
        self.validation_enabled = facts.validation
        self.username = facts.username

    def count_recovered(self) -> int:
        """Count the drafts kept on this machine and tell the screens. Any thread."""
        from post001.tui import recovery

        count = len(recovery.pending())
        self.post_message(RecoveredFound(count))
        return count

    @on(RecoveredFound)
    def _recovered_found(self, event: RecoveredFound) -> None:
        self.recovered_count = event.count
        for screen in self.post001_screens():
            screen.show_recovered(event.count)

    def post001_screens(self) -> list[StoreMixin]:
        """The mounted screens in the stack that follow the app's contract (StoreMixin's
        hooks); Textual's own (the command palette) and plain dialogs are left out.

        A screen pushed but not yet mounted has no widgets to update: its on_mount reads
        the app's state itself, so telling it now would only query widgets that don't
        exist yet (StoreOpened can land between a push and the mount)."""
        from post001.tui.screens.base import StoreMixin

        return [screen for screen in self.screen_stack
                if isinstance(screen, StoreMixin) and screen.is_mounted]

    def wait_store(self, timeout: float = 60.0) -> Store:
        """The store, waiting for it to open. Call from worker threads only."""
        if not self._store_ready.wait(timeout):
            raise DatabaseError("The database is not available yet.")
        assert self.store is not None
        return self.store

    @on(StoreOpened)
    def _store_opened(self, event: StoreOpened) -> None:
        self.sub_title = (
            f"{self.username} · demo database" if self.demo
            else self.team_subtitle(event.store) or f"{self.username} · {event.store.location}"
        )
        for screen in self.post001_screens():
            screen.store_opened(event.store)

    @on(DraftSaved)
    def _draft_saved(self, event: DraftSaved) -> None:
        # A closed editor's last save landed: the dashboard should show it.
        from post001.tui.screens.dashboard import DashboardScreen

        # Quitting pops every screen while that save may still answer.
        top = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(top, DashboardScreen):
            top.refresh_data()

    @on(StoreFailed)
    def _store_failed(self, event: StoreFailed) -> None:
        self.notify(
            f"{event.error.message}\nRetrying in {event.retry_in:g} s.",
            title=event.error.title,
            severity="error",
            timeout=max(3.0, event.retry_in),
        )

    # --- actions available everywhere -------------------------------------------------------
    def action_help(self) -> None:
        from post001.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_new_post(self) -> None:
        from post001.tui.screens.editor import EditorScreen

        self.push_screen(EditorScreen())

    def action_open_post(self, post_id: str) -> None:
        from uuid import UUID

        from post001.tui.screens.editor import EditorScreen

        self.push_screen(EditorScreen(UUID(post_id)))

    def pop_screen(self) -> Any:
        """Pop the top screen; a screen with unsaved work (the editor) saves it first, so
        every way off it (escape, the palette's Dashboard, a dialog's close) keeps it."""
        from post001.tui.screens.base import StoreMixin

        if isinstance(self.screen, StoreMixin):
            self.screen.before_pop()
        return super().pop_screen()

    def action_dashboard(self) -> None:
        from post001.tui.screens.dashboard import DashboardScreen

        while len(self.screen_stack) > 2 and not isinstance(self.screen, DashboardScreen):
            self.pop_screen()

    def action_reviews(self) -> None:
        from post001.tui.screens.review import ReviewScreen

        self.push_screen(ReviewScreen())

    def action_new_collective(self) -> None:
        from post001.tui.screens.new_collective import NewCollectiveScreen

        self.push_screen(NewCollectiveScreen())

    def action_preferences(self) -> None:
        from post001.tui.screens.preferences import PreferencesScreen

        self.push_screen(PreferencesScreen())

    def action_recovered(self) -> None:
        from post001.tui.screens.recovered import RecoveredScreen

        if not isinstance(self.screen, RecoveredScreen):
            self.push_screen(RecoveredScreen())

    def action_search_published(self) -> None:
        from post001.tui.screens.search import SearchScreen

        if not isinstance(self.screen, SearchScreen):
            self.push_screen(SearchScreen())

    def action_read_post(self, post_id: str) -> None:
        from uuid import UUID

        from post001.tui.screens.reader import ReaderScreen

        self.push_screen(ReaderScreen(UUID(post_id)))

    def watch_theme(self, theme: str) -> None:
        if self._settings is not None:
            self._settings.theme = theme

    async def action_quit(self) -> None:
        """Quit, but only after every draft is saved (a second ctrl+q stops waiting)."""
        if self._quitting:
            self.exit()
            return
        self._quitting = True
        pending: list[Worker[Any]] = []
        for screen in reversed(self.post001_screens()):
            pending.extend(screen.flush_for_exit())
        pending.extend(w for w in self.background_saves if not w.is_finished)
        if pending:
            self.notify("Saving your draft before quitting… (ctrl+q again to stop waiting)")
            for worker in pending:
                await worker.wait()
        self.exit()


def build_app(
    store_factory: StoreFactory | None,
    settings: Settings | None = None,
    clock: Clock = utcnow,
    *,
    demo: bool = False,
    team: TeamTarget | None = None,
) -> Post001App:
    """The one way to make the app: the CLI, the demo and the tests all come through here.
    With `team` and no `store_factory`, the store is the team server's, with the offline
    journal (post001/tui/team.py)."""
    if store_factory is None:
        assert team is not None, "a store factory or a team server"
        target = team

        def store_factory() -> Store:
            return target.open(app.settings)

    app = Post001App(store_factory, settings, clock, demo=demo, team=team)
    return app


def run_app(store_url: str | None = None, user: str | None = None, *,
            token_file: str | None = None, server: bool = False) -> None:
    """`post001` with no arguments: the TUI on the configured store. `server`: the
    store is a team server (a URL or a name from config.toml); the token comes from
    core's one credentials order, `token_file` first (post001/core/credentials.py).

    The settings load in the start-up worker, just before the store opens."""
    if server:
        assert store_url is not None
        build_app(None, team=TeamTarget(store_url, token_file=token_file, user=user)).run()
        return

    def open_store() -> Store:
        from post001.core.api import connect

        return connect(store_url, user, settings=app.settings)

    app = build_app(open_store)
    app.run()
