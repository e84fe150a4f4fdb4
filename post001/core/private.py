"""Files only their owner can read: the data directory (0700) and what post001 writes in
it (0600): the SQLite database, its WAL, drafts kept for recovery, journals.

Drafts are private writing; on a shared machine nobody else should read them. Modes are
set when post001 creates a file or folder (the umask cannot widen them); a folder the
user made themselves is left as they made it, except post001's own data directory.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents) with mode 0700 for the folders made here; the
    data directory itself is brought to 0700 even when it already exists."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    from post001.core.config import data_dir

    own = data_dir().expanduser()
    for folder in missing:
        with contextlib.suppress(OSError):
            folder.chmod(DIR_MODE)
    if own.exists() and (own == path or own in path.parents):
        with contextlib.suppress(OSError):
            if own.stat().st_mode & 0o077:
                own.chmod(DIR_MODE)
    return path


def create_private_file(path: Path) -> None:
    """Create an empty file with mode 0600 unless it exists (SQLite then opens it as a
    new database, and gives its -wal and -shm files the same mode)."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (a temporary file renamed over it), mode 0600."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, FILE_MODE)  # an existing temporary file keeps its old mode otherwise
    os.replace(tmp, path)
