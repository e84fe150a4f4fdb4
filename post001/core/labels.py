"""The one place each status gets its human label (and the colour the TUI paints it).

Keyed by the enum *values* (the enums are StrEnums, so `labels.SHARE[ShareStatus.PUBLISHED]`
works too) and free of imports, so the TUI can paint its first screen before the models
load. JSON output keeps the enum values; people read these words everywhere else: the CLI,
the TUI, the publish summary and the review queue all say "in review", never
"pending_approval".
"""

from __future__ import annotations

from typing import NamedTuple


class Label(NamedTuple):
    text: str
    style: str


SHARE: dict[str, Label] = {
    "draft": Label("draft", "dim"),
    "pending_approval": Label("in review", "yellow"),
    "published": Label("published", "green"),
    "rejected": Label("rejected", "red"),
}

POST: dict[str, Label] = {
    "draft": Label("draft", "dim"),
    "scheduled": Label("scheduled", "cyan"),
    "published": Label("published", "green"),
    "archived": Label("archived", "magenta"),
}

#: What publishing will do in one collective (post001.core.models.Outcome).
OUTCOME: dict[str, Label] = {
    "publish": Label("publishes", "green"),
    "review": Label("goes to review", "yellow"),
    "not_allowed": Label("not allowed", "red"),
}


def share_label(status: str) -> str:
    return SHARE[str(status)].text


def post_label(status: str) -> str:
    return POST[str(status)].text


def outcome_label(outcome: str) -> str:
    return OUTCOME[str(outcome)].text
