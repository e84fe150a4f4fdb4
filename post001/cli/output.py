"""Printing: JSON for scripts, short lines and aligned tables for people."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from post001.core.labels import post_label, share_label
from post001.core.text import quote_title

if TYPE_CHECKING:
    from post001.core.models import Post, PostSummary, Share
    from post001.core.sql.quick_listing import ListedPost, ListedShare


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def emit(json_mode: bool, data: Any, human: Callable[[], None]) -> None:
    """`data` as JSON on stdout in --json mode, else whatever `human` prints."""
    if json_mode:
        click.echo(dumps(data))
    else:
        human()


def to_json(model: Any) -> Any:
    """A pydantic model (or a list of them) as plain JSON values."""
    if isinstance(model, list):
        return [to_json(item) for item in model]
    return model.model_dump(mode="json")


def short_id(value: object) -> str:
    """The first 8 hex digits: enough to name a post on the command line."""
    return str(value)[:8]


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M")


def clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str) -> None:
    """An aligned plain-text table (or `empty` when there are no rows)."""
    cells = [[str(c) for c in row] for row in rows]
    if not cells:
        click.echo(empty)
        return
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.upper().ljust(widths[i]) for i, h in enumerate(headers))
    click.echo(line.rstrip())
    for row in cells:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def share_badges(shares: Sequence[Share] | Sequence[ListedShare]) -> str:
    return ", ".join(f"{s.collective}: {share_label(s.status)}" for s in shares) or "-"


def posts_table(posts: Sequence[PostSummary | ListedPost], *, empty: str) -> None:
    table(
        ["id", "status", "ver", "updated", "title", "shares"],
        (
            [short_id(p.id), post_label(p.status), p.version, when(p.updated_at),
             clip(p.title or "(untitled)", 40), clip(share_badges(p.shares), 60)]
            for p in posts
        ),
        empty=empty,
    )


def post_header(post: Post) -> None:
    """Everything about a post except its body."""
    click.echo(click.style(post.title or "(untitled)", bold=True))
    if post.subtitle:
        click.echo(post.subtitle)
    facts = [
        f"id {post.id}",
        f"status {post_label(post.status)}",
        f"version {post.version}",
        f"by {post.author}",
        "public" if post.is_public else "private",
    ]
    click.echo("  ".join(facts))
    if post.publish_at and post.status.value == "scheduled":
        click.echo(f"scheduled for {when(post.publish_at)} UTC")
    if post.published_at:
        click.echo(f"published {when(post.published_at)} UTC")
    if post.shares:
        click.echo("shares:")
        for share in post.shares:
            reason = f"  ({share.rejection_reason})" if share.rejection_reason else ""
            click.echo(f"  {share.collective:<24} {share_label(share.status)}{reason}")
    else:
        click.echo("shares: none (visible only on your profile once published)")


def post_line(verb: str, post: Post) -> None:
    """One line saying what happened to a post."""
    click.echo(
        f"{verb} {short_id(post.id)} {quote_title(clip(post.title, 60), untitled='(untitled)')} "
        f"({post_label(post.status)}, version {post.version})"
    )
    for share in post.shares:
        reason = f" ({share.rejection_reason})" if share.rejection_reason else ""
        click.echo(f"  {share.collective:<24} {share_label(share.status)}{reason}")


def redact_url(url: str) -> str:
    """Hide a password in a database URL."""
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", url)
