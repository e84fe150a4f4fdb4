"""Small renderers shared by several screens: status badges and counters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from rich.text import Text

if TYPE_CHECKING:  # the dashboard paints before the models are imported
    from post001.core.models import Membership, PostStatus, Share

from post001.core import labels

#: Keyed by the status values (ShareStatus and PostStatus are StrEnums: they hash as these).
SHARE_LABEL = {status: (label.text, label.style) for status, label in labels.SHARE.items()}

POST_STYLE = {status: label.style for status, label in labels.POST.items()}

#: The order a share summary counts in: what reached readers first.
SUMMARY_ORDER = ("published", "pending_approval", "rejected", "draft")


def share_badges(shares: Sequence[Share], *, limit: int = 4) -> str:
    """'dev-notes: published · rust: in review · +2 more' as plain text."""
    parts = [f"{s.collective}: {SHARE_LABEL[s.status][0]}" for s in shares[:limit]]
    if len(shares) > limit:
        parts.append(f"+{len(shares) - limit} more")
    return " · ".join(parts)


def share_badges_text(shares: Sequence[Share], *, limit: int = 3) -> Text:
    """The same badges, coloured by status."""
    text = Text()
    for index, share in enumerate(shares[:limit]):
        label, style = SHARE_LABEL[share.status]
        if index:
            text.append(" ")
        text.append(f"[{share.collective} {label}]", style=style)
    if len(shares) > limit:
        text.append(f" +{len(shares) - limit}", style="dim")
    if not shares:
        text.append("not shared", style="dim")
    return text


class HasShareStatus(Protocol):
    """A share, or a publish outcome: anything with a share status."""

    @property
    def status(self) -> str: ...


def share_summary_text(shares: Sequence[HasShareStatus]) -> Text:
    """'3 published · 1 in review': counts per status, in the words of core/labels.py."""
    counts: dict[str, int] = {}
    for share in shares:
        counts[str(share.status)] = counts.get(str(share.status), 0) + 1
    text = Text()
    for status in SUMMARY_ORDER:
        if counts.get(status):
            label = labels.SHARE[status]
            if text:
                text.append(" · ", style="dim")
            text.append(f"{counts[status]} {label.text}", style=label.style)
    if not shares:
        text.append("not shared", style="dim")
    return text


def post_status_text(status: PostStatus) -> Text:
    label = labels.POST[str(status)]
    return Text(label.text, style=label.style)


def can_post_text(membership: Membership) -> Text:
    from post001.core.models import ShareStatus
    from post001.core.permissions import share_status_on_publish

    if membership.can_post:
        status = share_status_on_publish(role=membership.role,
                                         require_approval=membership.require_approval)
        if status is ShareStatus.PENDING_APPROVAL:
            return Text("yes (reviewed)", style="yellow")
        return Text("yes", style="green")
    return Text(f"no: {membership.reason or 'not allowed'}", style="red")


def short_time(when: datetime, now: datetime) -> str:
    """'Jan 05 09:03' this year, '2025-12-01' before: 12 columns at most, local time."""
    local = when.astimezone()
    if local.year == now.astimezone().year:
        return f"{local:%b %d %H:%M}"
    return f"{local:%Y-%m-%d}"


def counter(length: int, limit: int) -> str:
    """'42/60' for a field's live counter."""
    return f"{length}/{limit}"
