"""Column priorities (post001/tui/fit_table.py): kept columns whole, text between words."""

from __future__ import annotations

from rich.text import Text

from post001.tui.fit_table import PADDING, Column, fit_cell, fit_columns

COLUMNS = [
    Column("name", "Name", min=8, grow=2),
    Column("slug", "Slug", min=8, hide=2),
    Column("members", "Members", min=7, hide=1),
    Column("can", "Can post", keep=True),
]
NATURAL = {"name": 30, "slug": 16, "members": 7, "can": 28}


def total(widths: dict[str, int]) -> int:
    return sum(w + PADDING for w in widths.values() if w)


def test_room_for_everything_gives_natural_widths() -> None:
    widths = fit_columns(COLUMNS, NATURAL, 200)
    assert widths == NATURAL


def test_kept_column_is_never_shortened_and_the_rest_share() -> None:
    widths = fit_columns(COLUMNS, NATURAL, 80)
    assert widths["can"] == 28
    assert total(widths) <= 80
    assert widths["name"] >= 8 and widths["slug"] >= 8
    assert widths["name"] > widths["slug"] or widths["slug"] == 16  # name grows faster


def test_columns_hide_in_order_when_minimums_do_not_fit() -> None:
    narrow = fit_columns(COLUMNS, NATURAL, 55)
    assert narrow["slug"] == 0 and narrow["members"] == 7
    assert narrow["can"] == 28 and total(narrow) <= 55
    narrower = fit_columns(COLUMNS, NATURAL, 45)
    assert narrower["slug"] == 0 and narrower["members"] == 0
    assert narrower["can"] == 28 and narrower["name"] >= 8


def test_max_caps_growth() -> None:
    widths = fit_columns([Column("a", "A", min=4, max=10)], {"a": 50}, 100)
    assert widths == {"a": 10}


def test_fit_cell_cuts_between_words_and_keeps_style() -> None:
    cell = Text("no: your role here is member", style="red")
    out = fit_cell(cell, 20)
    assert out.plain == "no: your role here…"
    assert out.style == "red" or all(span.style == "red" for span in out.spans)
    assert fit_cell("short", 20).plain == "short"
