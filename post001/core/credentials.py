"""Where a server token comes from, and where `post001 login` keeps it.

Lookup order (first found wins): an explicit token, the `POST001_TOKEN` environment
variable, `--token-file PATH` (which must be readable by its owner only), and the OS
keyring, one entry per server URL. Keyring calls run in a worker thread with a timeout:
a locked or absent keyring (a headless machine, a D-Bus that never answers) must never
hang the TUI or the CLI. A token is never written to a plain-text file behind the user's
back: without a keyring, the user is told the explicit alternatives instead.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from post001.core.errors import ValidationError

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
        super().__init__(
            f"The OS keyring is not available ({reason}). Use the {TOKEN_ENV} environment "
            "variable or --token-file PATH (a file with 0600 permissions) instead.",
            actions=list(NO_KEYRING_ACTIONS),
        )


def normalize_server_url(url: str) -> str:
    """One keyring entry per server: `HTTP://Host:8000/` and `http://host:8000` are one."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


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
    """Only on the user's explicit request: created with 0600 from the first byte."""
    file = Path(path).expanduser()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.chmod(file, 0o600)
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


def resolve_token(
    server_url: str,
    *,
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    use_keyring: bool = True,
    timeout: float = KEYRING_TIMEOUT,
) -> str | None:
    """The token to use for `server_url`, or None when there is none anywhere.

    An unusable keyring is not an error here (the caller may not need a token yet); an
    unsafe token file is, because the user asked for it explicitly.
    """
    if token:
        return token
    env = os.environ.get(TOKEN_ENV)
    if env:
        return env.strip()
    if token_file is not None:
        return read_token_file(token_file)
    if not use_keyring:
        return None
    try:
        return keyring_get(server_url, timeout=timeout)
    except KeyringUnavailable:
        return None


def missing_token_error(server_url: str) -> ValidationError:
    return ValidationError(
        f"not logged in to {normalize_server_url(server_url)}",
        field="token",
        actions=[
            f"Run `post001 login {normalize_server_url(server_url)}`",
            *NO_KEYRING_ACTIONS,
        ],
    )
