"""`shorten`: the one way a column or a line is made to fit (core/text.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from post001.core.text import shorten


@pytest.mark.parametrize(("text", "width", "expected"), [
    ("Notes on terminal writing", 40, "Notes on terminal writing"),
    ("Notes on terminal writing", 25, "Notes on terminal writing"),
    ("Notes on terminal writing", 24, "Notes on terminal…"),
    ("Notes on terminal writing", 18, "Notes on terminal…"),
    ("Notes on terminal writing", 17, "Notes on…"),
    ("Notes on terminal writing", 9, "Notes on…"),
    ("Notes on terminal writing", 8, "Notes…"),
    ("Supercalifragilistic words", 8, "Superca…"),  # no boundary: the one mid-word cut
    ("no: your role here is member", 20, "no: your role here…"),
    ("3 published · 1 in review", 14, "3 published…"),  # no dangling separator
    # The word past the room fits without its separators (found by the property below).
    (":::: a:: :", 8, ":::: a…"),
    ("Hello world:: again", 13, "Hello world…"),
    ("  spaced \n out  ", 20, "spaced out"),
    ("anything", 1, "…"),
    ("anything", 0, ""),
    ("", 5, ""),
])
def test_shorten(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected


@given(text=st.text(alphabet=st.sampled_from("ab ·:"), max_size=60),
       width=st.integers(min_value=0, max_value=70))
def test_shorten_fits_and_cuts_between_words(text: str, width: int) -> None:
    out = shorten(text, width)
    assert len(out) <= width
    flat = " ".join(text.split())
    if not out.endswith("…"):
        assert out == (flat if width > 0 else "")
        return
    words = flat.split(" ")
    if len(words[0]) + 1 > width:
        return  # no boundary to cut at
    kept = out[:-1]
    prefixes = {" ".join(words[:k]).rstrip(" ·:,;-") for k in range(1, len(words))}
    assert kept in prefixes or flat.startswith(kept), (flat, width, out)
    if kept not in prefixes:  # only when every whole-word prefix was separators alone
        assert not any(p and len(p) + 1 <= width for p in prefixes), (flat, width, out)
