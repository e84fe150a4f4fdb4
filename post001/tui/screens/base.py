"""What every post001 screen shares: store calls in worker threads, errors shown the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, get_current_worker

from post001.core.errors import Post001Error
from post001.tui.hints import Where, hints_for
from post001.tui.messages import StoreCallFailed

if TYPE_CHECKING:
    from post001.core.store import Store
    from post001.tui.app import Post001App

T = TypeVar("T")


@dataclass
class StoreReply(Message):
    """A store call finished; `callback` runs on the UI thread with its value."""

    callback: Callable[[Any], None]
    value: Any


def as_post001_error(exc: BaseException) -> Post001Error:
    """Any failure as an error with a message the writer can act on (core's translator,
    post001.core.validation.as_post001_error, so every face words it the same way)."""
    from post001.core.validation import as_post001_error as translate

    return translate(exc)


def describe(error: Post001Error, where: Where = Where.ANYWHERE) -> str:
    """The message and the hints that fit where the writer was (post001/tui/hints.py)."""
    lines = [error.message]
    lines.extend(f"• {hint}" for hint in hints_for(error, where))
    return "\n".join(lines)


class StoreMixin:
    """Runs store calls off the UI thread and brings the results back as messages.

    Also the typed contract between the app and its screens (post001/tui/app.py calls
    these on every screen in the stack; each does nothing unless a screen overrides it)."""

    # --- what the app tells every screen ---------------------------------------------------
    def show_recovered(self, count: int) -> None:
        """`count` drafts are kept on this machine (post001/tui/recovery.py)."""

    def store_opened(self, store: Store) -> None:
        """The store is open: the screen may load what it shows."""

    def before_pop(self) -> None:
        """The screen is about to leave the stack, by any way (escape, palette, dialog)."""

    def flush_for_exit(self) -> list[Worker[Any]]:
        """The app is quitting: start saving unsaved work; return the workers to wait for."""
        return []

    # --- the one handler for store replies -------------------------------------------------
    def _on_store_reply(self, event: StoreReply) -> None:
        event.stop()
        event.callback(event.value)

    def _on_store_call_failed(self, event: StoreCallFailed) -> None:
        event.stop()
        self.show_error(event.error, event.what)

    #: Where this screen is, for the hints under its errors (post001/tui/hints.py).
    hints_where: ClassVar[Where] = Where.ANYWHERE

    @property
    def papp(self) -> Post001App:
        return self.app  # type: ignore[attr-defined, no-any-return]

    def call_store(
        self,
        what: str,
        call: Callable[[Store], T],
        done: Callable[[T], None] | None = None,
        *,
        failed: Callable[[Post001Error], None] | None = None,
        group: str = "store",
        exclusive: bool = False,
    ) -> Worker[None]:
        """Run `call(store)` in a thread; `done(result)` or `failed(error)` on the UI thread.

        A call cancelled meanwhile (a newer one in its `exclusive` group, or its screen
        gone) reports nothing: a thread cannot be stopped, and its late answer, read
        before the newer call's, would replace what that one showed."""
        node: Any = self

        def job() -> None:
            worker = get_current_worker()
            try:
                store = node.papp.wait_store()
                value = call(store)
            except Exception as exc:
                error = as_post001_error(exc)
                if worker.is_cancelled:
                    return
                if failed is not None:
                    node.post_message(StoreReply(failed, error))
                else:
                    node.post_message(StoreCallFailed(error, what))
                return
            if done is not None and not worker.is_cancelled:
                node.post_message(StoreReply(done, value))

        worker: Worker[None] = node.run_worker(
            job, thread=True, group=group, exclusive=exclusive, exit_on_error=False,
            name=what,
        )
        return worker

    def show_error(self, error: Post001Error, what: str = "") -> None:
        node: Any = self
        node.notify(
            describe(error, self.hints_where),
            title=f"{error.title}" + (f" ({what})" if what else ""),
            severity="error" if error.category not in ("validation", "conflict") else "warning",
            timeout=8,
        )


class StyledOnMount:
    """Skips the restyle of a screen's first resume.

    Textual styles every widget as it mounts, then restyles the whole screen again on its
    first ScreenResume, which arrives just after: on the dashboard that second pass was a
    third of the launch's styling (every table's component classes, every footer key).
    Later resumes (back from another screen, after a theme change) still restyle.
    Textual calls each class's own `_on_screen_resume` along the MRO, most derived first,
    so Screen's handler runs after this one and sees the flag."""

    _resumed_once = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._resumed_once:
            self._resumed_once = True
            event.refresh_styles = False


class BaseScreen(StyledOnMount, StoreMixin, Screen[Any]):
    """A full screen (store replies are handled by StoreMixin's handlers, found by name)."""


class BaseModal(StyledOnMount, StoreMixin, ModalScreen[T]):
    """A dialog over another screen."""
