"""Look at the TUI snapshots as PNGs, and refresh the README's screenshots.

    python tests/tui/screenshots.py png [FOLDER]   # every snapshot SVG -> FOLDER/*.png
    python tests/tui/screenshots.py docs           # docs/editor.svg, docs/picker.svg

`png` needs rsvg-convert (Debian: librsvg2-bin). Textual writes leading spaces of a text run
as no-break spaces, which rsvg-convert drops unless whitespace is preserved; without the
`xml:space` below, columns look shifted by one cell in the PNG though the SVG is right.
`docs` copies the 120x40 snapshots of the editor and the picker, so the README shows what
the tests check: run `pytest tests/tui/test_snapshots.py --snapshot-update` first when a
screen changed on purpose.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "__snapshots__" / "test_snapshots"
DOCS = HERE.parent.parent / "docs"
README_SHOTS = {"editor.svg": "test_editor[120x40].svg", "picker.svg": "test_picker[120x40].svg"}


def to_png(svg: Path, png: Path) -> None:
    text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    subprocess.run(["rsvg-convert", "-w", "1600", "-o", str(png)], input=text.encode(),
                   check=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "png"
    if command == "png":
        folder = Path(argv[1]) if len(argv) > 1 else Path("snapshots-png")
        folder.mkdir(parents=True, exist_ok=True)
        for svg in sorted(SNAPSHOTS.glob("*.svg")):
            to_png(svg, folder / f"{svg.stem}.png")
        print(f"{len(list(SNAPSHOTS.glob('*.svg')))} PNGs in {folder}")
        return 0
    if command == "docs":
        for target, source in README_SHOTS.items():
            shutil.copyfile(SNAPSHOTS / source, DOCS / target)
            print(f"docs/{target} <- {source}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
