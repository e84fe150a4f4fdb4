"""A copy of an unsaved draft on this machine, written whenever a save fails.

So "offline (saved on this machine)" is true, and a crash while the database or the
server is away loses nothing. A successful save removes the copy. Copies that outlive
their editor (the app quit or crashed while the store was away, or a conflict set a text
aside) are listed on the Recovered screen, which restores or discards them.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from post001.core.private import write_private


def recovery_dir() -> Path:
    from post001.core.config import data_dir

    return data_dir() / "recovery"


def _path(key: str) -> Path:
    return recovery_dir() / f"{key}.json"


def keep(key: str, post_id: UUID | None, fields: dict[str, Any], *,
         reason: str = "") -> Path | None:
    """Write the draft atomically; never raises (a failing disk must not break the editor).

    `reason` says why it was kept (shown on the Recovered screen)."""
    try:
        body = {"post_id": str(post_id) if post_id else None, "fields": fields,
                "saved_at": datetime.now(UTC).isoformat(), "reason": reason}
        # Private writing: 0600 in a 0700 folder (post001.core.private).
        write_private(_path(key), json.dumps(body, default=str))
        return _path(key)
    except OSError:
        return None


def forget(key: str) -> None:
    with contextlib.suppress(OSError):
        _path(key).unlink(missing_ok=True)


def pending() -> list[dict[str, Any]]:
    """Every kept draft, oldest first, each with its `key`, `when` (an aware datetime)
    and `reason`. Files that cannot be read or are not drafts are skipped."""
    folder = recovery_dir()
    if not folder.is_dir():
        return []
    found: list[dict[str, Any]] = []
    for path in folder.glob("*.json"):
        try:
            mtime = path.stat().st_mtime
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            continue
        body["key"] = path.stem
        body["when"] = _when(body.get("saved_at"), mtime)
        body["reason"] = str(body.get("reason") or "a save failed")
        found.append(body)
    found.sort(key=lambda body: body["when"])
    return found


def _when(saved_at: object, mtime: float) -> datetime:
    if isinstance(saved_at, str):
        try:
            when = datetime.fromisoformat(saved_at)
        except ValueError:
            pass
        else:
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return datetime.fromtimestamp(mtime, UTC)
