"""Tables that fit their width: columns with priorities, text shortened between words.

A `FitTable` knows, per column, how narrow it may get, whether it may be shortened at all
(a status or a "Can post" answer never is) and which columns go first when even the
narrowest layout does not fit. On every resize it lays the columns out again with
`fit_columns` (pure, unit-tested in tests/tui/test_fit_table.py) and re-renders its rows,
shortening text with `core.text.shorten`, so no cell is ever cut in the middle of a word
and no horizontal scrollbar appears.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable

from post001.core.text import shorten

#: DataTable pads each cell by one column on either side.
PADDING = 2

Cell = Text | str


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    #: Narrowest useful width; a column that cannot get it is hidden instead (see `hide`).
    min: int = 6
    #: Widest it grows; None: as wide as its widest cell.
    max: int | None = None
    #: Share of the room left once every column has its minimum.
    grow: int = 1
    #: Never shortened: always as wide as its widest cell (statuses, "Can post").
    keep: bool = False
    #: When even the minimums do not fit, the column with the highest `hide` goes first;
    #: 0 never hides.
    hide: int = 0
    justify: Literal["left", "right"] = "left"


def fit_columns(columns: Sequence[Column], natural: Mapping[str, int],
                available: int) -> dict[str, int]:
    """Width of every column (0: hidden) so that they fit in `available` cells.

    `natural[key]` is the width the column wants (its widest cell or its label). Kept
    columns get exactly that; the others start at their minimum and share what is left,
    in proportion to `grow`, up to their natural width (or `max`).
    """
    visible = list(columns)

    def want(col: Column) -> int:
        wanted = natural.get(col.key, cell_len(col.label))
        return wanted if col.max is None else min(wanted, col.max)

    def floor(col: Column) -> int:
        return want(col) if col.keep else min(col.min, want(col))

    while True:
        need = sum(floor(c) + PADDING for c in visible)
        hideable = [c for c in visible if c.hide > 0]
        if need <= available or not hideable:
            break
        visible.remove(max(hideable, key=lambda c: c.hide))
    widths = {c.key: 0 for c in columns}
    widths.update({c.key: floor(c) for c in visible})
    room = available - sum(widths[c.key] + PADDING for c in visible)
    growing = [c for c in visible if not c.keep and widths[c.key] < want(c)]
    while room > 0 and growing:
        weight = sum(c.grow for c in growing) or len(growing)
        given = 0
        for col in growing:
            share = max(1, room * max(col.grow, 0) // weight) if col.grow else 0
            share = min(share, want(col) - widths[col.key], room - given)
            widths[col.key] += share
            given += share
        if given == 0:
            break
        room -= given
        growing = [c for c in growing if widths[c.key] < want(c)]
    return widths


def fit_cell(cell: Cell, width: int) -> Text:
    """`cell` in `width` cells at most, shortened between words, its style kept."""
    text = cell if isinstance(cell, Text) else Text(cell)
    if cell_len(text.plain) <= width:
        return text
    short = shorten(text.plain, width)
    kept = short.removesuffix("…")
    # When whitespace was folded the words stay and the inner styles go.
    out = text[: len(kept)] if text.plain.startswith(kept) else Text(kept, style=text.style)
    out.append("…" if short.endswith("…") else "", style=text.style)
    return out


class FitTable(DataTable[Any]):
    """A DataTable whose columns fit its width (see the module docstring)."""

    DEFAULT_CSS = """
    FitTable {
        overflow-x: hidden;
    }
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(*args, **kwargs)
        self.fit_columns_spec: list[Column] = []
        self._fit_rows: list[tuple[str, Mapping[str, Cell]]] = []
        self._widths: dict[str, int] = {}

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.fit_columns_spec = list(columns)
        self._widths = {}
        self._render_fit()

    def set_rows(self, rows: Sequence[tuple[str, Mapping[str, Cell]]]) -> None:
        """Replace every row: (row key, {column key: cell})."""
        self._fit_rows = list(rows)
        self._widths = self._layout()
        self._render_fit()

    def add_fit_rows(self, rows: Sequence[tuple[str, Mapping[str, Cell]]]) -> None:
        """Append rows (a further page); the layout is kept unless they need more room."""
        self._fit_rows.extend(rows)
        widths = self._layout()
        if widths != self._widths:
            self._widths = widths
            self._render_fit()
            return
        for key, cells in rows:
            self._add(key, cells)

    def update_fit_cell(self, row_key: str, column_key: str, cell: Cell) -> None:
        """Change one cell in place (a tick in the picker): no re-layout, no flicker."""
        for index, (key, cells) in enumerate(self._fit_rows):
            if key == row_key:
                self._fit_rows[index] = (key, {**cells, column_key: cell})
                break
        width = self._widths.get(column_key, 0)
        if width:
            self.update_cell(row_key, column_key, fit_cell(cell, width))

    @property
    def visible_columns(self) -> list[str]:
        return [c.key for c in self.fit_columns_spec if self._widths.get(c.key, 0) > 0]

    def _available(self) -> int:
        width = self.size.width or self.app.size.width
        return max(0, width - self.styles.scrollbar_size_vertical)

    def _layout(self) -> dict[str, int]:
        natural: dict[str, int] = {}
        for col in self.fit_columns_spec:
            widest = cell_len(col.label)
            for _, cells in self._fit_rows:
                cell = cells.get(col.key, "")
                widest = max(widest, cell_len(cell.plain if isinstance(cell, Text) else cell))
            natural[col.key] = widest
        return fit_columns(self.fit_columns_spec, natural, self._available())

    def _render_fit(self) -> None:
        if not self._widths:
            self._widths = self._layout()
        cursor = self.cursor_row
        self.clear(columns=True)
        for col in self.fit_columns_spec:
            width = self._widths.get(col.key, 0)
            if width:
                self.add_column(Text(col.label, justify=col.justify), key=col.key,
                                width=width)
        for key, cells in self._fit_rows:
            self._add(key, cells)
        if self._fit_rows:
            self.move_cursor(row=min(max(cursor, 0), len(self._fit_rows) - 1), animate=False)

    def _add(self, key: str, cells: Mapping[str, Cell]) -> None:
        row = []
        for col in self.fit_columns_spec:
            width = self._widths.get(col.key, 0)
            if width:
                cell = fit_cell(cells.get(col.key, ""), width)
                cell.justify = col.justify if col.justify == "right" else cell.justify
                row.append(cell)
        self.add_row(*row, key=key)

    def on_resize(self, event: events.Resize) -> None:
        widths = self._layout()
        if widths != self._widths:
            self._widths = widths
            self._render_fit()
