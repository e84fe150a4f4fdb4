"""Signing in to a team server, signing out, and asking who a token belongs to.

The library, the CLI (`post001 login|logout|whoami|status`) and the terminal app's
sign-in screen all use these functions, so a sign-in behaves the same everywhere:

- `sign_in(server, username, password)` exchanges the password for a token, keeps the
  token in the OS keyring (or, where there is none and the caller chose one, in a
  private token file), and records the server in config.toml (see post001.core.servers).
  Without a keyring and without a token file it raises `KeyringUnavailable` *before*
  sending the password, so the caller can offer a private token file and call again.
- `sign_out(server)` revokes the token on the server (best effort), forgets it here, and
  says how many journalled changes stay on this machine for that user (they are kept,
  and go out when the same user signs in to the same server again).
- `check_sign_in(server)` answers "is this token valid, and whose is it?" within a
  deadline: no call here waits on the network or the keyring without one.
- `check_identity(store, username)` refuses to act as someone other than the token's
  user (an `IdentityMismatch` naming both users).
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from post001.core import credentials, servers
from post001.core.credentials import KeyringUnavailable
from post001.core.errors import NetworkError, PermissionDenied, Post001Error, ValidationError
from post001.core.models import User
from post001.core.servers import ServerEntry
from post001.core.store import Store

__all__ = [
    "IdentityMismatch",
    "KeyringUnavailable",
    "SignInResult",
    "SignInStatus",
    "SignOutResult",
    "check_identity",
    "check_sign_in",
    "resolve_server",
    "sign_in",
    "sign_out",
]

#: How long a sign-in check may take before it answers "unreachable".
CHECK_TIMEOUT = 5.0


class IdentityMismatch(ValidationError):
    """The caller asked to act as one user, but the token belongs to another."""

    title = "Signed in as someone else"

    def __init__(self, requested: str, token_user: str, server: str) -> None:
        super().__init__(
            f"user: you asked to act as {requested!r}, but the token for {server} belongs "
            f"to {token_user!r}. post001 never switches identity silently.",
            field="user",
            actions=[f"Drop --as / POST001_USER to act as {token_user}",
                     f"Or sign in as {requested}: `post001 login {server} --username "
                     f"{requested}`"],
            details={"requested": requested, "token_user": token_user},
        )
        self.requested = requested
        self.token_user = token_user


def resolve_server(server: str | None) -> ServerEntry:
    """A server name or URL, else the default server; a clear error when there is none."""
    if server:
        return servers.find(server)
    entry = servers.default_server()
    if entry is None:
        raise ValidationError(
            "server: which server? Pass its URL or name with --server, or set "
            "POST001_SERVER_URL.", field="server",
            actions=["Sign in once with `post001 login URL`: it becomes the default."])
    return entry


def check_identity(store: Store, expected: str | None) -> User | None:
    """Refuse to act as `expected` when the store's token belongs to someone else.
    Returns the token's user (None when nothing was asked)."""
    if not expected or not getattr(store, "is_remote", False):
        return None
    me = store.me()
    if me.username != expected:
        raise IdentityMismatch(expected, me.username, store.location)
    return me


# --- signing in ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInResult:
    server: ServerEntry
    username: str
    token_store: Literal["keyring", "file"]
    token_file: Path | None
    #: True when this server is now the default (see post001.core.servers).
    default: bool

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server.url, "name": self.server.name,
                "username": self.username, "token_store": self.token_store,
                "token_file": str(self.token_file) if self.token_file else None,
                "default": self.default}


def sign_in(
    server: str,
    username: str,
    password: str,
    *,
    token_file: str | os.PathLike[str] | None = None,
    name: str | None = None,
    make_default: bool | None = None,
    timeout: float = 30.0,
    keyring_timeout: float = credentials.KEYRING_TIMEOUT,
    transport: Any = None,
) -> SignInResult:
    """Sign in and keep the token (keyring, else the private `token_file` asked for).

    Raises KeyringUnavailable before the password leaves this machine when there is no
    usable keyring and no `token_file`; PermissionDenied for a wrong password;
    NetworkError when the server cannot be reached.
    """
    from post001.core.remote import request_token

    entry = servers.find(server)
    if token_file is None:
        problem = credentials.keyring_problem(keyring_timeout)
        if problem is not None:
            raise KeyringUnavailable(problem)
    issued = request_token(entry.url, username, password,
                           name=f"post001 on {socket.gethostname()}"[:100],
                           transport=transport, timeout=timeout)
    token = str(issued["token"])
    written: Path | None = None
    if token_file is not None:
        written = credentials.write_token_file(token_file, token)
    else:
        credentials.keyring_set(entry.url, token, timeout=keyring_timeout)
    recorded, default = servers.record(entry.url, name=name or entry.name, user=username,
                                       token_file=written, make_default=make_default)
    return SignInResult(server=recorded, username=username,
                        token_store="file" if written else "keyring", token_file=written,
                        default=default)


# --- signing out ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignOutResult:
    server: ServerEntry
    #: The server revoked the token (False: none was found, or it could not be told).
    revoked: bool
    #: A token was found on this machine and forgotten.
    forgotten: bool
    #: Journalled changes kept on this machine for the user who signed out.
    pending: int
    username: str | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server.url, "name": self.server.name, "user": self.username,
                "revoked": self.revoked, "signed_out": self.forgotten or self.revoked,
                "pending": self.pending, "note": self.note}


def sign_out(
    server: str | None = None,
    *,
    token_file: str | os.PathLike[str] | None = None,
    timeout: float = CHECK_TIMEOUT,
    transport: Any = None,
) -> SignOutResult:
    """Revoke this machine's token for the server and forget it (keyring entry, and the
    token file `login` wrote). Journal entries stay (see the module docstring)."""
    from post001.core import journal
    from post001.core.remote import RemoteStore

    entry = resolve_server(server)
    found = credentials.find_token(entry, token_file=token_file)
    revoked = False
    note: str | None = None
    username: str | None = None
    if found is not None:
        store = RemoteStore(entry.url, token=found.token, retries=0, timeout=timeout,
                            transport=transport)
        try:
            username = store.me().username
            store.revoke_current_token()
            revoked = True
        except Post001Error as err:
            note = f"the server did not revoke the token ({err.message})"
        finally:
            store.close()
        if username is None:
            username = journal.known_identity(None, entry.url, found.token)
    forgotten = False
    with contextlib.suppress(KeyringUnavailable):
        forgotten = credentials.keyring_delete(entry.url)
    for path in {p for p in (_own_file(found), servers.forget_token_file(entry.url))
                 if p is not None}:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            forgotten = True
    pending = journal.pending_count(entry.url, username)[0] if username else 0
    return SignOutResult(server=entry, revoked=revoked, forgotten=forgotten or revoked,
                         pending=pending, username=username or entry.user, note=note)


def _own_file(found: credentials.FoundToken | None) -> Path | None:
    """A token file to delete on sign-out: one named explicitly or recorded by login."""
    if found is not None and found.source in ("token_file", "recorded_file"):
        return found.path
    return None


# --- who am I ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInStatus:
    server: ServerEntry
    state: Literal["signed_in", "no_token", "rejected", "unreachable"]
    user: User | None
    token_source: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "signed_in"

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server.url, "name": self.server.name, "state": self.state,
                "user": self.user.username if self.user else None,
                "token_source": self.token_source, "message": self.message}


def check_sign_in(
    server: str | None = None,
    *,
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    timeout: float = CHECK_TIMEOUT,
    transport: Any = None,
) -> SignInStatus:
    """Is there a token for the server, does the server accept it, and whose is it?
    Answers within about `timeout` seconds (keyring and network each get that long)."""
    from post001.core import journal
    from post001.core.remote import RemoteStore

    entry = resolve_server(server)
    found = credentials.find_token(entry, token=token, token_file=token_file,
                                   timeout=timeout)
    if found is None:
        return SignInStatus(entry, "no_token", None, None,
                            credentials.missing_token_error(entry).message)
    store = RemoteStore(entry.url, token=found.token, retries=0, timeout=timeout,
                        transport=transport)
    try:
        user = store.me()
    except NetworkError as err:
        return SignInStatus(entry, "unreachable", None, found.describe(), err.message)
    except PermissionDenied as err:
        return SignInStatus(entry, "rejected", None, found.describe(), err.message)
    finally:
        store.close()
    with contextlib.suppress(Exception):  # only a cache for offline use
        journal.remember_identity(None, entry.url, found.token, user.username)
    return SignInStatus(entry, "signed_in", user, found.describe(),
                        f"{user.username} on {entry.label}")
