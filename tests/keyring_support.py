"""A keyring the tests control: `MemoryKeyring` keeps entries in a dict, and the
`use_keyring` fixture (tests/conftest.py) installs any backend for one test and puts the
real one back after it, so no test reads or writes the developer's keyring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keyring
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")

    def let_go(self) -> None:
        """Called once the test is over: a backend that blocks its callers (see
        tests/server/test_credentials.py) frees them here, so no thread outlives it."""


def installed_keyrings() -> Iterator[Any]:
    """The body of the `use_keyring` fixture: yields `install(backend)`, which makes
    `backend` the keyring and returns it; afterwards the original keyring is back."""
    original = keyring.get_keyring()
    installed: list[Any] = []

    def install(backend: Any) -> Any:
        keyring.set_keyring(backend)
        installed.append(backend)
        return backend

    try:
        yield install
    finally:
        for backend in installed:
            if isinstance(backend, MemoryKeyring):
                backend.let_go()
        keyring.set_keyring(original)
