"""Which revisions to keep: the last 50, plus the newest one of every older 10-minute window.

Bounded however long a writer types, yet a writer can still go back hours or days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

KEEP_RECENT = 50
WINDOW_SECONDS = 600
# Versions between prunes. Snapshots come at most once a minute (migration 0005), so
# checking every 100th save is plenty and keeps the cost off nearly every save.
PRUNE_EVERY = 100


def revisions_to_keep(revisions: Iterable[tuple[int, datetime]]) -> set[int]:
    """Given (version, saved_at) pairs, the versions to keep."""
    ordered = sorted(revisions, key=lambda r: r[0], reverse=True)
    keep = {version for version, _ in ordered[:KEEP_RECENT]}
    seen_windows: set[int] = set()
    for version, saved_at in ordered[KEEP_RECENT:]:
        window = int(saved_at.timestamp()) // WINDOW_SECONDS
        if window not in seen_windows:
            seen_windows.add(window)
            keep.add(version)
    return keep


def should_prune(version: int) -> bool:
    return version % PRUNE_EVERY == 0
