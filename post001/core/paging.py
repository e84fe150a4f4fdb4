"""Keyset paging for the writer's listing: the opaque cursor and the page size rules.

A listing is ordered newest change first by (updated_at, id). A cursor names the last
row of the page before, so the next page is "everything strictly older than it": one
index range scan whatever the page number, and stable while posts are being added (an
offset would skip or repeat rows whenever a save moves a post to the top).

The cursor is URL-safe base64 of "<updated_at ISO 8601>|<id hex>": opaque to callers,
which only pass it back, and the same on every backend so a remote store forwards it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, TypeVar
from uuid import UUID

from post001.core.errors import ValidationError
from post001.core.limits import MAX_PAGE_SIZE


class Position(NamedTuple):
    updated_at: datetime
    id: UUID


class _Listed(Protocol):
    @property
    def updated_at(self) -> datetime: ...
    @property
    def id(self) -> UUID: ...


_Row = TypeVar("_Row", bound=_Listed)


def cut_page(rows: list[_Row], limit: int) -> tuple[list[_Row], str | None]:
    """A page from up to `limit + 1` rows read in listing order: the first `limit`, and
    the cursor after them when there was one more (else None: the last page)."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.updated_at, last.id)


def encode_cursor(updated_at: datetime, post_id: UUID) -> str:
    stamp = updated_at.astimezone(UTC).isoformat()
    raw = f"{stamp}|{post_id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; a ValidationError on field `cursor` for anything
    that is not a cursor this code made."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, _, hex_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition("|")
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None:
            raise ValueError("naive time")
        return Position(updated_at.astimezone(UTC), UUID(hex=hex_id))
    except (ValueError, OverflowError, UnicodeError, binascii.Error):
        shown = cursor if len(cursor) <= 40 else cursor[:37] + "..."
        raise ValidationError(
            f"cursor: {shown!r} is not a cursor from a listing; pass the next_cursor "
            "of the page before, or leave it out for the first page.",
            field="cursor") from None


def check_limit(limit: int) -> int:
    """A page size between 1 and MAX_PAGE_SIZE, or a ValidationError naming the limit."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit: must be a whole number from 1 to {MAX_PAGE_SIZE} "
                              f"(got {limit!r}).", field="limit")
    return limit
