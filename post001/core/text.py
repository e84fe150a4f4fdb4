"""Small text helpers shared by the store, the CLI and the TUI."""

from __future__ import annotations

import re
import unicodedata
from uuid import UUID

_NON_WORD = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"\S+")


def slugify(text: str, *, max_length: int = 48) -> str:
    """'Hello, World!' -> 'hello-world'; '' for text with no letters or digits."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def post_slug(title: str, post_id: UUID) -> str:
    """Unique without a lookup: the id's first 8 hex digits make it so."""
    return f"{slugify(title) or 'untitled'}-{post_id.hex[:8]}"


_DOUBLE_QUOTES = frozenset('"“”„«»')


def quote_title(title: str, *, untitled: str = "Untitled") -> str:
    """A title in curly quotes that never nest: double ones, or single ones when the
    title holds double quotes itself (tests/test_messages.py shows both)."""
    text = title.strip() or untitled
    if _DOUBLE_QUOTES.isdisjoint(text):
        return f"\u201c{text}\u201d"
    return f"\u2018{text}\u2019"


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def excerpt(text: str, length: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


#: Separators a cut line does not end on ("3 published · 1 in review" -> "3 published…").
_TRAILING = " ·:,;-"


def shorten(text: str, width: int, *, ellipsis: str = "…") -> str:
    """`text` in at most `width` characters, cut at a word boundary and ended with `ellipsis`.

    Whitespace runs fold to one space. A first word longer than `width` is the one case
    cut inside a word (there is no boundary to cut at); every other cut falls between
    words, so a column never shows half a word. '' when `width` is 0 or less.
    """
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    if width <= len(ellipsis):
        return ellipsis[:max(width, 0)]
    room = width - len(ellipsis)
    cut = flat[: room + 1].rfind(" ")  # a space at `room` means the word before fits whole
    kept = flat[:cut].rstrip(_TRAILING) if cut > 0 else ""
    # The word running past `room` may fit once its trailing separators go ("a::" in
    # ":::: a:: :" at 8 columns): cut after it instead.
    after = flat.find(" ", room + 1)
    if after > 0:
        longer = flat[:after].rstrip(_TRAILING)
        if len(kept) < len(longer) <= room:
            kept = longer
    return (kept or flat[:room]) + ellipsis
