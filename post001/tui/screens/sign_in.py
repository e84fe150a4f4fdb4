"""Sign in to a team server: server, username, password.

Opened instead of a retry loop when the app has no token for the server, or the server
refuses the one it found (post001/tui/team.py). The sign-in itself is core's
(post001/core/session.py `sign_in`): the token goes to the OS keyring; where there is
none, core says so before the password leaves this machine, and this screen offers a
private token file instead (written 0600, never through a symbolic link). The keyring
and the network are only ever asked from a worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from post001.core.session import SignInResult

if TYPE_CHECKING:
    from post001.core.errors import Post001Error
    from post001.tui.team import TeamTarget


def default_token_file(server: str) -> str:
    """Where a token file goes when the writer takes the suggestion: next to the config
    file, one per server."""
    from post001.core.config import config_path
    from post001.core.servers import lookup, name_for

    entry = lookup(server)
    name = entry.name if entry is not None and entry.name else name_for(server)
    return str(config_path().parent / f"{name}.token")


class SignInScreen(ModalScreen[SignInResult | None]):
    """Returns the SignInResult, or None when the writer cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    SignInScreen #token-file-box { display: none; height: auto; }
    SignInScreen #token-file-box.-shown { display: block; }
    SignInScreen #sign-in-message { height: auto; }
    """

    def __init__(self, target: TeamTarget, reason: Post001Error | None = None) -> None:
        super().__init__()
        self.target = target
        self.reason = reason
        #: Why there is no keyring here, once core said so (then a token file is used).
        self.keyring_problem: str | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        from post001.core.servers import lookup

        entry = None
        try:
            entry = lookup(self.target.server)
        except Exception:  # an unreadable config file: the field shows what was given
            entry = None
        server = entry.url if entry is not None else self.target.server
        username = self.target.user or (entry.user if entry is not None else None) or ""
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Sign in to your team server", classes="dialog-title")
            yield Static(self._why(), id="sign-in-why", classes="hint")
            yield Label("Server")
            yield Input(server, placeholder="https://team.example", id="server")
            yield Label("Username")
            yield Input(username, placeholder="alice", id="username")
            yield Label("Password")
            yield Input(placeholder="password", password=True, id="password")
            with Vertical(id="token-file-box"):
                yield Static("", id="no-keyring", classes="hint")
                yield Label("Token file (readable only by you)")
                yield Input(id="token-file")
            yield Static("", id="sign-in-message", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Sign in (enter)", id="sign-in", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def _why(self) -> str:
        if self.reason is None:
            return "Your token stays in the OS keyring; the password is not kept."
        return f"{self.reason.message}\nSign in to get a new token."

    def on_mount(self) -> None:
        first_empty = next((i for i in self.query(Input) if not i.value and i.display),
                           self.query_one("#password", Input))
        first_empty.focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "sign-in":
            self._start()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _say(self, text: str) -> None:
        self.query_one("#sign-in-message", Static).update(text)

    def _start(self) -> None:
        if self.busy:
            return
        server = self.query_one("#server", Input).value.strip()
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        missing = [name for name, value in (("server", server), ("username", username),
                                            ("password", password)) if not value]
        if missing:
            self._say(f"✗ {missing[0]}: required")
            self.query_one(f"#{missing[0]}", Input).focus()
            return
        token_file = (self.query_one("#token-file", Input).value.strip()
                      if self.keyring_problem is not None else None)
        if self.keyring_problem is not None and not token_file:
            self._say("✗ token file: required (there is no keyring here)")
            return
        self.busy = True
        self.query_one("#sign-in", Button).disabled = True
        self._say("Signing in…")
        self._sign_in(server, username, password, token_file)

    @work(thread=True, exclusive=True, group="sign-in", exit_on_error=False)
    def _sign_in(self, server: str, username: str, password: str,
                 token_file: str | None) -> None:
        from post001.core.credentials import KeyringUnavailable
        from post001.core.session import sign_in
        from post001.tui.screens.base import as_post001_error

        try:
            result = sign_in(server, username, password, token_file=token_file)
        except KeyringUnavailable as err:
            suggestion = default_token_file(server)
            self.app.call_from_thread(self._no_keyring, err.reason, suggestion)
            return
        except Exception as exc:
            self.app.call_from_thread(self._failed, as_post001_error(exc))
            return
        self.app.call_from_thread(self.dismiss, result)

    def _done_waiting(self) -> None:
        self.busy = False
        self.query_one("#sign-in", Button).disabled = False

    def _no_keyring(self, reason: str, suggestion: str) -> None:
        self._done_waiting()
        self.keyring_problem = reason
        self.query_one("#no-keyring", Static).update(
            f"There is no keyring on this machine ({reason}), so the token cannot be kept "
            "there. It can be kept in a private token file instead: only you can read it "
            "(0600), and post001 never writes it through a symbolic link.")
        box = self.query_one("#token-file-box")
        box.add_class("-shown")
        field = self.query_one("#token-file", Input)
        if not field.value:
            field.value = suggestion
        self._say("Check the token file's place, then sign in again (enter).")
        self.query_one("#sign-in", Button).label = "Sign in, keep the token in this file"
        field.focus()

    def _failed(self, error: Post001Error) -> None:
        self._done_waiting()
        self._say(f"✗ {error.message}")
        if error.category == "permission":
            password = self.query_one("#password", Input)
            password.value = ""
            password.focus()
