"""Team mode in the app: which server, signing in when the token is missing or refused,
the header ("alice @ team.example"), signing out, and what the offline journal says.

The rules live in core (post001/core/session.py signs in and out, post001/core/offline.py
keeps and replays writes); this module only shows them. Everything that may wait on the
network, the keyring or the journal runs in a worker thread. The OfflineStore calls its
listeners on its replaying thread: they only post messages, which Textual hands to the
UI thread.

`TeamModeMixin` is mixed into the app (post001/tui/app.py) so the app module keeps its
own concerns; its handlers are named `on_<message>` because Textual finds those along
the class's MRO (an `@on` decorator in a plain mixin would not be registered).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

from textual.message import Message

if TYPE_CHECKING:
    from post001.core.config import Settings
    from post001.core.errors import Post001Error
    from post001.core.offline import OfflineStore
    from post001.core.servers import ServerEntry
    from post001.core.session import SignInResult, SignOutResult
    from post001.core.store import Store
    from post001.core.sync import SyncConflict, SyncEvent
    from post001.tui.app import Post001App
    from post001.tui.messages import DraftSaveFailed
    from post001.tui.screens.editor import EditorScreen


@dataclass
class TeamTarget:
    """The server the app works against, as the command line named it.

    `token_file` is `--token-file` (the first place core's one credentials order looks
    after an explicit token); `user` is an explicit `--as` / POST001_USER, which core
    refuses when the token belongs to someone else. `options` go to the store (tests
    pass shorter retries)."""

    server: str
    token_file: str | None = None
    user: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def open(self, settings: Settings) -> Store:
        """The store, with the offline journal. Worker threads only."""
        from post001.core.api import connect

        return connect(self.server, self.user, settings=settings,
                       token_file=self.token_file, offline=True, **self.options)

    def signed_in(self, result: SignInResult) -> None:
        """After a sign-in from the app: the new token is where sign_in put it (the
        keyring, or the token file the writer chose), so a refused `--token-file` must
        no longer come first."""
        self.server = result.server.url
        self.token_file = str(result.token_file) if result.token_file else None
        self.user = result.username


def needs_sign_in(error: Post001Error) -> bool:
    """A store that failed to open for want of a usable token (none found, refused by
    the server, an unsafe token file) or because the token is someone else's: the
    writer should sign in rather than wait for a retry."""
    if error.details.get("status") == 401:
        return True
    return error.category == "validation" and error.field in ("token", "token_file", "user")


def server_label(entry: ServerEntry) -> str:
    """How the header names a server: the name the writer gave it, else its host (and
    port when it has one)."""
    from post001.core.servers import name_for

    if entry.name and entry.name != name_for(entry.url):
        return entry.name
    parts = urlsplit(entry.url)
    host = parts.hostname or entry.url
    return f"{host}:{parts.port}" if parts.port else host


# --- messages (from workers and the replaying thread) ---------------------------------------


@dataclass
class SignInNeeded(Message):
    """The store could not open because of the token: show the sign-in screen."""

    error: Post001Error


@dataclass
class TeamSync(Message):
    """An event from the offline journal (post001/core/sync.py), on the UI thread."""

    event: SyncEvent


@dataclass
class SignedOut(Message):
    result: SignOutResult | None
    error: Post001Error | None = None


@dataclass
class JournalResolved(Message):
    post_id: UUID
    choice: str
    post: Any  # the post the editor should show (None: nothing changes on screen)
    error: Post001Error | None = None


class TeamModeMixin:
    """Team mode for Post001App (see the module docstring)."""

    team: TeamTarget | None
    #: The header's team part and the journal's status line, as last shown.
    team_status_text: str = ""
    #: Saves kept in the journal, not yet acknowledged by the server.
    team_pending: int = 0
    #: Posts whose offline conflict is being settled (asked, or its answer in flight).
    settling_posts: set[UUID]

    # --- opening -------------------------------------------------------------------------
    def watch_team_store(self, store: Store) -> None:
        """Listen to the journal of a freshly made store (worker thread, before anything
        else asks the store, so no event is missed)."""
        app = self._as_app()
        subscribe = getattr(store, "subscribe", None)
        if subscribe is not None:
            subscribe(lambda event: app.post_message(TeamSync(event)))

    def team_opened_offline(self, store: Store | None, error: Post001Error) -> str | None:
        """Worker thread. The store opened but the server cannot be reached: when this
        machine already knows whose token it is (the journal remembers it from the
        last time the server said so), the app opens anyway, offline, as that user, and
        writes go to the journal. Returns that user, or None (then the app retries)."""
        if self.team is None or error.category != "network":
            return None
        note_unreachable = getattr(store, "note_unreachable", None)
        if store is None or note_unreachable is None:
            return None
        try:
            username = str(getattr(store, "username"))  # noqa: B009 (no network: remembered)
        except Exception:
            return None  # never confirmed by the server: nothing can be journalled
        note_unreachable()  # the header says "offline", and the replayer watches
        return username

    def team_subtitle(self, store: Store) -> str | None:
        """The header for a store on a server ("alice @ team.example"), else None."""
        if not getattr(store, "is_remote", False):
            return None
        from post001.core.servers import ServerEntry

        entry = getattr(store, "server", None) or ServerEntry(url=store.location)
        self._team_header = f"{self._as_app().username} @ {server_label(entry)}"
        return self._with_status()

    def _with_status(self) -> str:
        header = getattr(self, "_team_header", "")
        status = self.team_status_text
        return f"{header} · {status}" if status else header

    def on_sign_in_needed(self, message: SignInNeeded) -> None:
        self.show_sign_in(message.error)

    def show_sign_in(self, error: Post001Error | None = None) -> None:
        from post001.tui.screens.sign_in import SignInScreen

        app = self._as_app()
        if (self.team is None or not app.screen_stack  # quitting: nobody to ask
                or isinstance(app.screen, SignInScreen)):
            return
        app.sub_title = "not signed in"
        app.push_screen(SignInScreen(self.team, error), self._signed_in)

    def on_draft_save_failed(self, message: DraftSaveFailed) -> None:
        """A save refused because the server no longer accepts the token (revoked,
        expired): the editor keeps the text on this machine and says so; the writer is
        asked to sign in again rather than left with failing saves."""
        if self.team is not None and message.error.details.get("status") == 401:
            self.show_sign_in(message.error)

    def _signed_in(self, result: SignInResult | None) -> None:
        app = self._as_app()
        if result is None:
            app.notify("Not signed in. Choose “Sign in” in the command palette (ctrl+p) "
                       "when you are ready.", title="Not signed in", severity="warning")
            return
        assert self.team is not None
        self.team.signed_in(result)
        where = ("the OS keyring" if result.token_store == "keyring"
                 else str(result.token_file))
        app.notify(f"Signed in as {result.username}; the token is kept in {where}.",
                   title="Signed in")
        app.sub_title = "opening…"
        old, app.store = app.store, None  # signed in again mid-session: a new token
        app._store_ready.clear()
        if old is not None:
            app.run_worker(lambda: self.close_team_store(old), thread=True,
                           exit_on_error=False, name="closing the old store")
        app._open_store()

    def action_sign_in(self) -> None:
        app = self._as_app()
        if self.team is None:
            app.notify("This window works on a local database: there is nothing to sign "
                       "in to. Start post001 with --server URL for a team server.")
            return
        self.show_sign_in(None)

    # --- the journal's events --------------------------------------------------------------
    def on_team_sync(self, message: TeamSync) -> None:
        from post001.core.sync import (
            EntrySent,
            PendingChanged,
            PostRecreated,
            SyncConflict,
            SyncFailed,
            SyncStatus,
        )

        app = self._as_app()
        event = message.event
        if isinstance(event, PendingChanged):
            back = event.online is True and getattr(self, "_team_online", None) is False
            self._team_online = event.online
            self.team_pending = event.pending
            if back:
                self._refresh_dashboard()  # opened (or went) offline: show the real list
                self._relearn_store()  # opened offline, the app knew only the defaults
            status = SyncStatus(server="", username=None, online=event.online,
                                pending=event.pending, stuck=event.stuck)
            quiet = event.pending == 0 and event.online is not False
            self.team_status_text = "" if quiet else status.describe()
            if app.store is not None:
                app.sub_title = self._with_status()
        elif isinstance(event, SyncConflict):
            self._open_journal_conflict(event)
        elif isinstance(event, SyncFailed):
            app.notify(f"{event.error.message}\nYour text stays on this machine; the other "
                       "changes go on.", title="A change kept here was refused",
                       severity="error", timeout=10)
        elif isinstance(event, PostRecreated):
            self._retarget_editors(event.old_id, event.new_id)
            app.notify("A post you changed offline was deleted on the server; your text "
                       "is now a new draft.", title="Kept as a new draft", severity="warning")
        elif isinstance(event, EntrySent):
            self._refresh_dashboard()

    def _relearn_store(self) -> None:
        from post001.tui.app import StoreFacts

        app = self._as_app()
        store = app.store
        if store is None:
            return

        def job() -> None:
            try:
                facts = StoreFacts.learn(store)
            except Exception:  # gone again: the next return learns them
                return
            app.call_from_thread(app.apply_store_facts, facts)

        app.run_worker(job, thread=True, group="store-facts", exclusive=True,
                       exit_on_error=False)

    def _refresh_dashboard(self) -> None:
        from post001.tui.screens.dashboard import DashboardScreen

        for screen in self._as_app().screen_stack:
            if isinstance(screen, DashboardScreen) and screen.is_current:
                screen.refresh_data()

    def _editors(self, post_id: UUID) -> list[EditorScreen]:
        """Editors open on the post (typed, so mypy notices when the editor's save
        state moves)."""
        from post001.tui.screens.editor import EditorScreen

        return [s for s in self._as_app().screen_stack
                if isinstance(s, EditorScreen) and s.post_id == post_id]

    def _retarget_editors(self, old_id: UUID, new_id: UUID) -> None:
        # The journal made the writer's text a new draft (created at version 1 by the
        # same replay): an editor still on the old post now saves to the new one.
        for editor in self._editors(old_id):
            editor.sync.retarget(new_id, 1)

    def _open_journal_conflict(self, conflict: SyncConflict) -> None:
        from post001.tui.screens.journal_conflict import JournalConflictScreen

        app = self._as_app()
        if any(isinstance(s, JournalConflictScreen) and s.post_id == conflict.post_id
               for s in app.screen_stack):
            return  # already asking (the palette's "Offline conflicts" may ask again)
        self.settling_posts.add(conflict.post_id)  # until JournalResolved
        app.push_screen(JournalConflictScreen(conflict),
                        lambda choice: self._resolve_journal(conflict, choice))

    def _resolve_journal(self, conflict: SyncConflict, choice: str | None) -> None:
        app = self._as_app()
        choice = choice or "copy"  # no answer: keep both
        app.run_worker(lambda: self._resolve_job(app, conflict, choice), thread=True,
                       group="journal-resolve", exit_on_error=False,
                       name="resolving a conflict")

    @staticmethod
    def _resolve_job(app: Post001App, conflict: SyncConflict, choice: str) -> None:
        from post001.tui import recovery
        from post001.tui.screens.base import as_post001_error

        store: Any = app.store
        mine = conflict.mine.model_dump(exclude_unset=True)
        try:
            if choice == "theirs":
                # The writer chose the server's text; theirs stays safe on this machine
                # too, so nothing they typed is ever dropped.
                recovery.keep(f"{conflict.post_id}-set-aside-{uuid.uuid4().hex[:6]}",
                              conflict.post_id,
                              {"title": mine.get("title", conflict.theirs.title),
                               "subtitle": mine.get("subtitle", conflict.theirs.subtitle),
                               "content": mine.get("content", conflict.theirs.content)},
                              reason="your offline text, set aside when you took the "
                                     "server's version")
                app.count_recovered()
            result = store.resolve(conflict.post_id, choice)
            shown = conflict.theirs if choice in ("theirs", "copy") else result
            app.post_message(JournalResolved(conflict.post_id, choice, shown))
        except Exception as exc:
            app.post_message(JournalResolved(conflict.post_id, choice, None,
                                             as_post001_error(exc)))

    def settling(self, post_id: UUID) -> bool:
        """An offline conflict of this post is being asked about or its answer written:
        an editor's save conflict waits for it (EditorScreen.settled)."""
        return post_id in self.settling_posts

    def on_journal_resolved(self, message: JournalResolved) -> None:
        app = self._as_app()
        self.settling_posts.discard(message.post_id)
        if message.error is not None:
            for editor in self._editors(message.post_id):
                editor.settle_failed()
            app.notify(f"{message.error.message}\nYour text stays on this machine; choose "
                       "again from the palette (“Offline conflicts”).",
                       title="Not resolved yet", severity="error", timeout=10)
            return
        post = message.post
        if post is not None:
            for editor in self._editors(message.post_id):
                editor.settled(post, mine=message.choice == "mine")
        app.notify({"mine": "Your offline text replaced the server's (theirs is in the "
                            "post's history).",
                    "theirs": "Showing the server's text; yours is kept on this machine "
                              "(Recovered drafts).",
                    "copy": "Your offline text is now a separate draft; the post keeps the "
                            "server's text."}[message.choice], title="Conflict settled")
        self._refresh_dashboard()

    def action_journal_conflicts(self) -> None:
        """Reopen the choice for posts whose offline changes wait for the writer."""
        app = self._as_app()
        store: Any = app.store
        if store is None or not hasattr(store, "conflicts"):
            app.notify("No offline changes wait for a decision.")
            return

        def job() -> None:
            from post001.core.sync import SyncConflict
            from post001.tui.screens.base import as_post001_error

            try:
                found = store.conflicts()
            except Exception as exc:
                app.notify(as_post001_error(exc).message, severity="error")
                return
            conflicts = [c for c in found if isinstance(c, SyncConflict)]
            if not conflicts:
                app.notify("No offline changes wait for a decision.")
            for conflict in conflicts:
                app.post_message(TeamSync(conflict))

        app.run_worker(job, thread=True, group="journal-resolve", exit_on_error=False)

    # --- signing out -------------------------------------------------------------------------
    async def action_sign_out(self) -> None:
        app = self._as_app()
        if self.team is None:
            app.notify("This window works on a local database: there is nothing to sign "
                       "out of.")
            return
        from post001.tui.screens.dashboard import DashboardScreen

        # Every editor saves as it closes (its before_pop): wait for those saves, so
        # nothing typed is left behind when the token goes.
        while len(app.screen_stack) > 2 and not isinstance(app.screen, DashboardScreen):
            app.pop_screen()
        for saving in [w for w in app.background_saves if not w.is_finished]:
            await saving.wait()
        store, app.store = app.store, None
        app._store_ready.clear()
        target = self.team
        app.sub_title = "signing out…"

        def job() -> None:
            from post001.core.session import sign_out
            from post001.tui.screens.base import as_post001_error

            if store is not None:
                store.close()
            try:
                result = sign_out(target.server, token_file=target.token_file)
            except Exception as exc:
                app.post_message(SignedOut(None, as_post001_error(exc)))
                return
            app.post_message(SignedOut(result))

        app.run_worker(job, thread=True, group="sign-out", exit_on_error=False,
                       name="signing out")

    def on_signed_out(self, message: SignedOut) -> None:
        app = self._as_app()
        result = message.result
        assert self.team is not None
        self.team.token_file = None  # sign_out forgot it; the next token comes from sign-in
        self.team_status_text = ""
        self.team_pending = 0
        if result is None:
            assert message.error is not None
            app.notify(message.error.message, title="Sign-out incomplete", severity="error")
        else:
            kept = (f" {result.pending} change{'s' * (result.pending != 1)} made offline "
                    "stay on this machine and go out when you sign in again."
                    if result.pending else "")
            note = f" ({result.note})" if result.note else ""
            app.notify(f"Signed out of {server_label(result.server)}{note}.{kept}",
                       title="Signed out")
        app.sub_title = "signed out"
        self.show_sign_in(None)

    # --- publishing while offline -------------------------------------------------------------
    def offer_publish_later(self, post_id: UUID, error: Post001Error, key: str) -> bool:
        """A publish refused because the server cannot be reached: say why, and let the
        writer choose to queue it. True when the offer was made."""
        store = self._as_app().store
        if error.category != "network" or not hasattr(store, "publish_when_online"):
            return False
        from post001.tui.screens.publish_later import PublishLaterScreen

        self._as_app().push_screen(PublishLaterScreen(error),
                                   lambda yes: self._queue_publish(post_id, key) if yes
                                   else None)
        return True

    def _queue_publish(self, post_id: UUID, key: str) -> None:
        app = self._as_app()
        store: OfflineStore = app.store  # type: ignore[assignment]

        def job() -> None:
            from post001.tui.screens.base import as_post001_error

            try:
                outcome = store.publish_when_online(post_id, idempotency_key=key)
            except Exception as exc:
                app.notify(as_post001_error(exc).message, title="Not queued",
                           severity="error")
                return
            if hasattr(outcome, "post"):
                app.notify("The server answered: the post is published.", title="Published")
            else:
                app.notify("It goes out once, after your changes reach the server.",
                           title="Will publish when back online")

        app.run_worker(job, thread=True, group="publish-later", exit_on_error=False)

    def action_publish_when_online(self) -> None:
        """The palette's explicit choice, from an open editor."""
        from post001.tui.screens.editor import EditorScreen

        app = self._as_app()
        editor = app.screen
        if not isinstance(editor, EditorScreen) or not hasattr(app.store,
                                                               "publish_when_online"):
            app.notify("Open the post in the editor of a team server first.")
            return
        key = f"queued-{uuid.uuid4()}"

        def queue() -> None:
            if editor.post_id is not None:
                self._queue_publish(editor.post_id, key)

        editor.ensure_saved(queue)

    # --- helpers -----------------------------------------------------------------------------
    def _as_app(self) -> Post001App:
        return self  # type: ignore[return-value]

    def close_team_store(self, store: Store | None) -> None:
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()
