"""Where a server token comes from, and where `post001 login` keeps it.

One lookup for the library, the CLI and the terminal app (first found wins):

1. an explicit token (`token=` in the library);
2. `--token-file PATH` (`token_file=`), which must be readable by its owner only;
3. the `POST001_TOKEN` environment variable;
4. the OS keyring, one entry per server URL;
5. the token file that `post001 login --token-file PATH` recorded for the server in
   config.toml (see post001.core.servers).

Keyring calls run in a worker thread with a timeout: a locked or absent keyring (a
headless machine, a D-Bus that never answers) must never hang the TUI or the CLI. A token
is never written to a plain-text file behind the user's back: without a keyring, the
user is told the explicit alternatives instead, and a token file is written only where
they asked, private (0600) from its first byte, never through a symlink.
"""

from __future__ import annotations

import contextlib
import os
import queue
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from post001.core.errors import ValidationError
from post001.core.servers import ServerEntry, normalize_url

SERVICE = "post001"
TOKEN_ENV = "POST001_TOKEN"
KEYRING_TIMEOUT = 5.0

T = TypeVar("T")

NO_KEYRING_ACTIONS = [
    f"Set the {TOKEN_ENV} environment variable to the token",
    "Or keep the token in a file readable only by you (chmod 600) and pass --token-file PATH",
]


class KeyringUnavailable(ValidationError):
    """No usable OS keyring: the message says what to do instead."""

    title = "No keyring on this machine"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"The OS keyring is not available ({reason}). Use the {TOKEN_ENV} environment "
            "variable or --token-file PATH (a file with 0600 permissions) instead.",
            actions=list(NO_KEYRING_ACTIONS),
        )


def normalize_server_url(url: str) -> str:
    """One keyring entry per server: `HTTP://Host:8000/` and `http://host:8000` are one."""
    return normalize_url(url)


# --- token files ------------------------------------------------------------------------


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in `path`; refused unless only its owner can read or write it."""
    file = Path(path).expanduser()
    try:
        info = file.stat()
    except FileNotFoundError:
        raise ValidationError(f"token file {file} does not exist", field="token_file") from None
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        mode = oct(stat.S_IMODE(info.st_mode))
        raise ValidationError(
            f"token file {file} has permissions {mode}; others could read your token. "
            f"Run `chmod 600 {file}` and try again.",
            field="token_file",
            actions=[f"chmod 600 {file}"],
        )
    token = file.read_text(encoding="utf-8").strip()
    if not token:
        raise ValidationError(f"token file {file} is empty", field="token_file")
    return token


def write_token_file(path: str | os.PathLike[str], token: str) -> Path:
    """Only on the user's explicit request: private (0600) from the first byte.

    The token goes to a new file made next to the target (O_EXCL, O_NOFOLLOW), is
    fsynced, and is renamed into place: a symlink planted at `path` is refused rather
    than followed (it could point at a file the attacker wants overwritten or read), and
    a crash never leaves a half-written token.
    """
    file = Path(path).expanduser().absolute()
    if file.is_symlink():
        raise ValidationError(
            f"token file {file} is a symbolic link; post001 does not write a token through "
            "a link. Choose another path or remove the link.",
            field="token_file")
    if file.exists() and not file.is_file():
        raise ValidationError(f"token file {file} exists and is not a regular file",
                              field="token_file")
    if not file.parent.is_dir():
        raise ValidationError(f"token file {file}: the folder {file.parent} does not exist",
                              field="token_file")
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", dir=file.parent)  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, file)  # replaces a name, never writes through a link
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return file


# --- the keyring, never blocking ----------------------------------------------------------


def _in_thread(func: Callable[[], T], timeout: float) -> T:
    """Run a keyring call with a deadline. The thread is a daemon: interpreter exit
    joins executor threads, so a hung backend (a D-Bus call that never answers) would
    otherwise keep the process alive after we gave up on it."""
    answers: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            answers.put((True, func()))
        except BaseException as exc:  # handed to the caller's thread below
            answers.put((False, exc))

    threading.Thread(target=run, name="keyring", daemon=True).start()
    try:
        ok, value = answers.get(timeout=timeout)
    except queue.Empty:
        raise KeyringUnavailable(f"it did not answer within {timeout:g} s") from None
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def _backend_problem() -> str | None:
    """Why the configured keyring cannot hold secrets, or None when it can."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return "no keyring backend is installed or running"
    try:
        priority = float(backend.priority)
    except Exception:
        priority = 1.0
    if priority <= 0:
        return f"the keyring backend {type(backend).__name__} cannot store secrets"
    return None


def _keyring_call(func: Callable[[], T], timeout: float) -> T:
    def guarded() -> T:
        from keyring.errors import KeyringError, NoKeyringError

        problem = _backend_problem()
        if problem:
            raise KeyringUnavailable(problem)
        try:
            return func()
        except NoKeyringError as exc:
            raise KeyringUnavailable(str(exc) or "no keyring backend") from None
        except KeyringError as exc:
            raise KeyringUnavailable(f"{type(exc).__name__}: {exc}") from None
        except KeyringUnavailable:
            raise
        except Exception as exc:  # a backend's own bug must not crash the app
            raise KeyringUnavailable(f"{type(exc).__name__}: {exc}") from None

    return _in_thread(guarded, timeout)


def keyring_get(server_url: str, *, timeout: float = KEYRING_TIMEOUT) -> str | None:
    import keyring

    key = normalize_server_url(server_url)
    return _keyring_call(lambda: keyring.get_password(SERVICE, key), timeout)


def keyring_set(server_url: str, token: str, *, timeout: float = KEYRING_TIMEOUT) -> None:
    import keyring

    key = normalize_server_url(server_url)
    _keyring_call(lambda: keyring.set_password(SERVICE, key, token), timeout)


def keyring_delete(server_url: str, *, timeout: float = KEYRING_TIMEOUT) -> bool:
    """True when an entry was removed."""
    import keyring
    from keyring.errors import PasswordDeleteError

    key = normalize_server_url(server_url)

    def delete() -> bool:
        try:
            keyring.delete_password(SERVICE, key)
        except PasswordDeleteError:
            return False
        return True

    return _keyring_call(delete, timeout)


# --- the lookup -------------------------------------------------------------------------

TokenSource = Literal["explicit", "token_file", "environment", "keyring", "recorded_file"]


@dataclass(frozen=True, slots=True)
class FoundToken:
    token: str
    source: TokenSource
    #: The file it came from, for the two file sources.
    path: Path | None = None

    def describe(self) -> str:
        return {
            "explicit": "given explicitly",
            "token_file": f"from --token-file {self.path}",
            "environment": f"from {TOKEN_ENV}",
            "keyring": "from the OS keyring",
            "recorded_file": f"from {self.path}, recorded by `post001 login`",
        }[self.source]


def find_token(
    server: ServerEntry | str,
    *,
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    use_keyring: bool = True,
    timeout: float = KEYRING_TIMEOUT,
) -> FoundToken | None:
    """The token for `server` and where it came from, or None when there is none.

    An unusable keyring is not an error here (the caller may not need a token yet); an
    unsafe token file is, because the user asked for it explicitly (or recorded it).
    """
    entry = server if isinstance(server, ServerEntry) else ServerEntry(url=normalize_url(server))
    if token:
        return FoundToken(token.strip(), "explicit")
    if token_file is not None:
        path = Path(token_file).expanduser()
        return FoundToken(read_token_file(path), "token_file", path)
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return FoundToken(env, "environment")
    if use_keyring:
        try:
            stored = keyring_get(entry.url, timeout=timeout)
        except KeyringUnavailable:
            stored = None
        if stored:
            return FoundToken(stored, "keyring")
    if entry.token_file is not None:
        return FoundToken(read_token_file(entry.token_file), "recorded_file", entry.token_file)
    return None


def resolve_token(
    server_url: str | ServerEntry,
    *,
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    use_keyring: bool = True,
    timeout: float = KEYRING_TIMEOUT,
) -> str | None:
    """The token alone (see `find_token`)."""
    found = find_token(server_url, token=token, token_file=token_file,
                       use_keyring=use_keyring, timeout=timeout)
    return found.token if found else None


def keyring_problem(timeout: float = KEYRING_TIMEOUT) -> str | None:
    """Why a token could not be kept in the keyring here, or None when it can.
    Asks the keyring off the caller's thread, with a deadline."""
    try:
        _keyring_call(lambda: None, timeout)
    except KeyringUnavailable as err:
        return err.reason
    return None


def missing_token_error(server_url: str | ServerEntry) -> ValidationError:
    entry = server_url if isinstance(server_url, ServerEntry) else None
    url = entry.url if entry else normalize_server_url(str(server_url))
    label = entry.label if entry else url
    return ValidationError(
        f"not logged in to {label}" + (f" ({url})" if label != url else ""),
        field="token",
        actions=[
            f"Run `post001 login {url}`",
            *NO_KEYRING_ACTIONS,
        ],
    )
