"""Changing config.toml without losing what the user wrote there.

post001 writes to the config file in a few places (`post001 login` records a server,
the terminal app keeps preferences). Each change goes through `update_config`: the file
is parsed with tomlkit, which keeps comments, ordering and formatting, changed in memory,
and written back atomically (a private temporary file in the same directory, fsynced,
then renamed over the old one), under an exclusive lock so two processes cannot
interleave their read-modify-write cycles.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.toml_document import TOMLDocument

from post001.core.config import config_path
from post001.core.errors import ValidationError

#: New config files are private: they may name token files and servers.
NEW_FILE_MODE = 0o600


def _unreadable(path: Path, exc: Exception) -> ValidationError:
    return ValidationError(
        f"Cannot read the config file {path}: {exc}",
        field="config",
        actions=[f"Fix or remove {path}."],
    )


def read_config(path: Path | None = None) -> TOMLDocument:
    """The config file as an editable document (empty when the file does not exist)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return tomlkit.document()
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise _unreadable(path, exc) from None


def as_plain(document: Any) -> Any:
    """A tomlkit value as plain dicts, lists and scalars."""
    unwrap = getattr(document, "unwrap", None)
    return unwrap() if unwrap is not None else document


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, NEW_FILE_MODE)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: best effort without a lock
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def update_config(change: Callable[[TOMLDocument], None], path: Path | None = None
                  ) -> TOMLDocument:
    """Apply `change` to the config document and write it back, keeping everything else."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        document = read_config(path)
        change(document)
        _write_atomically(path, tomlkit.dumps(document))
    return document


def _write_atomically(path: Path, text: str) -> None:
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
