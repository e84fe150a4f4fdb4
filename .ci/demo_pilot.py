"""`post001 demo`, driven headless (Textual's run_test) from an installed wheel.

The demo builds its sample database, the dashboard fills with the writer's posts, a new
draft is typed and saved through the editor, and the app quits; the draft is then read
back through the library. Exits non-zero with the reason on any failure.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

home = Path(tempfile.mkdtemp(prefix="post001-pilot-"))
os.environ["POST001_DATA_DIR"] = str(home / "data")
os.environ["POST001_CONFIG"] = str(home / "config.toml")

import post001  # noqa: E402
from post001.core.config import Settings  # noqa: E402
from post001.tui import demo  # noqa: E402
from post001.tui.app import build_app  # noqa: E402

TITLE = "Written by the CI pilot"


async def until(condition, what: str, pilot, tries: int = 400) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"demo pilot: {what} never happened")


async def main() -> None:
    url = demo.ensure_demo_database()
    settings = Settings()
    app = build_app(lambda: post001.connect(url, demo.WRITER, settings=settings), settings,
                    demo=True)
    async with app.run_test(size=(120, 40)) as pilot:
        def posts() -> int:
            try:
                return int(app.screen.query_one("#posts").row_count)  # type: ignore[attr-defined]
            except Exception:
                return 0

        await until(lambda: posts() >= 5, "the dashboard listing the demo posts", pilot)
        await pilot.press("n")
        await until(lambda: type(app.screen).__name__ == "EditorScreen", "the editor", pilot)
        await pilot.press(*TITLE)
        await pilot.press("ctrl+s")
        await pilot.press("ctrl+q")  # quitting waits for the draft to be saved
    with post001.connect(url, user=demo.WRITER) as ada:
        titles = {p.title for p in ada.list_posts()}
    if TITLE not in titles:
        raise SystemExit(f"demo pilot: the draft was not saved (posts: {sorted(titles)})")
    print(f"demo pilot: dashboard showed the sample, the editor saved {TITLE!r}")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
