"""A copy of an unsaved draft on this machine, written whenever a save fails.

So "offline (saved on this machine)" is true, and a crash while the database or the
server is away loses nothing. A successful save removes the copy.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID


def recovery_dir() -> Path:
    from post001.core.config import data_dir

    return data_dir() / "recovery"


def _path(key: str) -> Path:
    return recovery_dir() / f"{key}.json"


def keep(key: str, post_id: UUID | None, fields: dict[str, Any]) -> Path | None:
    """Write the draft atomically; never raises (a failing disk must not break the editor)."""
    try:
        folder = recovery_dir()
        folder.mkdir(parents=True, exist_ok=True)
        body = {"post_id": str(post_id) if post_id else None, "fields": fields}
        tmp = folder / f".{key}.tmp"
        tmp.write_text(json.dumps(body, default=str), encoding="utf-8")
        os.replace(tmp, _path(key))
        return _path(key)
    except OSError:
        return None


def forget(key: str) -> None:
    with contextlib.suppress(OSError):
        _path(key).unlink(missing_ok=True)


def pending() -> list[dict[str, Any]]:
    """Every kept draft, oldest first, each with its `key`."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        body["key"] = path.stem
        found.append(body)
    return found
