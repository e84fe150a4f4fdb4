"""TUI benchmarks: prints ratios from one run (no assertions).

1. Launch to first screen vs a bare Textual app showing one Label (target <= 1.5x):
   each in a fresh subprocess, headless, several runs, median.
2. One keystroke in a 10,000-line draft vs an empty draft (target <= 2x; p95 too).
3. Opening the picker plus one search keystroke with 5,000 memberships vs 10 (target <= 2x).
4. The dashboard's first full render (app start to the first page of posts painted) with
   20,000 posts of about 2 KB vs 20 posts (target <= 1.5x), in-process, interleaved runs,
   median; the posts are seeded in bulk as benchmarks/bench_listing.py does.

    python benchmarks/bench_tui.py [--runs 5] [--only dashboard|launch] [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BARE = """
import os, time
from textual.app import App
from textual.widgets import Label

def painted():
    print("PAINTED", time.time(), flush=True)
    os._exit(0)

class Bare(App):
    def compose(self):
        yield Label("hello")

    def on_mount(self):
        self.call_after_refresh(painted)

Bare().run(headless=True, size=(120, 40))
"""

# As `post001` starts (run_app): no Settings passed in, so the settings load in the
# start-up worker after the first paint, like the store.
POST001 = """
import os, sys, time
from post001.tui.app import build_app
from post001.tui.screens import dashboard

def painted():
    print("PAINTED", time.time(), flush=True)
    os._exit(0)  # the first screen is up (the store may still be opening)

original = dashboard.DashboardScreen.on_mount

def on_mount(self):
    original(self)
    self.call_after_refresh(painted)

dashboard.DashboardScreen.on_mount = on_mount

def factory():
    from post001.core.api import connect
    return connect(sys.argv[1], "bench")

build_app(factory).run(headless=True, size=(120, 40))
"""


def _launch(code: str, *args: str) -> float:
    """Seconds from spawning the process to its first screen being painted.

    As an installed package runs (pip compiles it): with the bytecode cache. Inheriting
    PYTHONDONTWRITEBYTECODE would compile post001's own modules from source at every
    launch, a cost the bare app (all third-party, compiled) never pays."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.time()
    done = subprocess.run([sys.executable, "-c", code, *args], check=True,
                          capture_output=True, text=True, env=env)
    painted = next(line for line in done.stdout.splitlines() if line.startswith("PAINTED"))
    return float(painted.split()[1]) - start


def _instructions(code: str, *args: str) -> int:
    """Instructions executed from start to the first screen (valgrind's callgrind): steady
    on a shared machine where wall times are not. The start-up worker opens the store
    after the first paint, so it is left out as it is from the wall time."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           sys.executable, "-c", code, *args],
                          check=True, capture_output=True, text=True, env=env)
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))  # type: ignore[union-attr]


def bench_launch_instructions(url: str) -> None:
    _launch(BARE)
    _launch(POST001, url)  # compile and cache the bytecode first, as for the wall times
    bare, ours = _instructions(BARE), _instructions(POST001, url)
    print(f"launch to first screen, instructions: bare Textual {bare / 1e6:,.0f} M, "
          f"post001 {ours / 1e6:,.0f} M -> {ours / bare:.2f}x")


def bench_launch(runs: int, url: str) -> tuple[float, float]:
    _launch(BARE)
    _launch(POST001, url)  # warm the bytecode caches and the database file
    bare_runs, our_runs = [], []
    for _ in range(runs):  # interleaved, so both see the same machine
        bare_runs.append(_launch(BARE))
        our_runs.append(_launch(POST001, url))
    return statistics.median(bare_runs), statistics.median(our_runs)


async def _wait(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await pilot.pause(0.005)


def _app(url: str, user: str = "bench") -> Any:
    import post001
    from post001.core.config import Settings
    from post001.tui.app import build_app

    return build_app(lambda: post001.connect(url, user=user),
                     Settings(autosave_delay=60, autosave_max_interval=600))


async def _dashboard_render(url: str, user: str) -> float:
    """Seconds from starting the app to its dashboard showing the first page of posts."""
    app = _app(url, user)
    start = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait(pilot, lambda: getattr(app.screen, "loaded", False))
        await pilot.pause()  # the rows are painted
        elapsed = time.perf_counter() - start
        assert app.screen.query_one("#posts").row_count > 0
    return elapsed


def bench_dashboard(folder: str, runs: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_listing import seed

    urls = {}
    for count in (20, 20_000):
        urls[count] = f"sqlite:///{folder}/dashboard-{count}.db"
        started = time.perf_counter()
        seed(urls[count], count)
        print(f"(set-up: {count:,} posts in {time.perf_counter() - started:.1f} s)")
    asyncio.run(_dashboard_render(urls[20], "writer"))  # warm the imports
    few, many = [], []
    for _ in range(runs):  # interleaved, so both see the same machine
        few.append(asyncio.run(_dashboard_render(urls[20], "writer")))
        many.append(asyncio.run(_dashboard_render(urls[20_000], "writer")))
    f_med, m_med = statistics.median(few), statistics.median(many)
    print(f"dashboard first full render: 20 posts {f_med * 1000:.0f} ms, 20,000 posts "
          f"{m_med * 1000:.0f} ms -> {m_med / f_med:.2f}x (target <= 1.5x)")


async def _keystrokes(url: str, title: str, presses: int) -> list[float]:
    app = _app(url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait(pilot, lambda: getattr(app.screen, "loaded", False))
        index = [p.title for p in app.screen.shown_posts].index(title)
        app.screen.query_one("#posts").move_cursor(row=index)
        await pilot.press("enter")
        await _wait(pilot, lambda: type(app.screen).__name__ == "EditorScreen"
                    and app.screen.loaded)
        app.screen.query_one("#body").focus()
        await pilot.press("ctrl+end")
        await pilot.pause(0.5)
        times = []
        for _ in range(presses):
            start = time.perf_counter()
            await pilot.press("a")
            times.append(time.perf_counter() - start)
        return times


async def _picker(url: str, title: str, runs: int) -> list[float]:
    app = _app(url)
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        await _wait(pilot, lambda: getattr(app.screen, "loaded", False))
        index = [p.title for p in app.screen.shown_posts].index(title)
        app.screen.query_one("#posts").move_cursor(row=index)
        await pilot.press("enter")
        await _wait(pilot, lambda: type(app.screen).__name__ == "EditorScreen"
                    and app.screen.loaded)
        for _ in range(runs):
            start = time.perf_counter()
            await pilot.press("f3")
            await _wait(pilot, lambda: type(app.screen).__name__ == "CollectivePicker")
            picker = app.screen
            await _wait(pilot, lambda p=picker: p._shown_request == p._request)
            await pilot.press("7")
            await _wait(pilot, lambda p=picker: p._shown_request == p._request
                        and p.query_text == "7")
            await pilot.pause()
            times.append(time.perf_counter() - start)
            await pilot.press("escape")
            await _wait(pilot, lambda: type(app.screen).__name__ == "EditorScreen")
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=60)
    parser.add_argument("--only", choices=["dashboard", "launch"], default=None)
    parser.add_argument("--instructions", action="store_true",
                        help="also count the launch's instructions under valgrind")
    args = parser.parse_args()

    import post001
    from post001.core.models import CollectiveCreate, PostCreate

    with tempfile.TemporaryDirectory() as folder:
        os.environ["POST001_DATA_DIR"] = folder
        os.environ["POST001_CONFIG"] = str(Path(folder) / "config.toml")
        os.environ["POST001_MAX_CONTENT_CHARS"] = "2000000"  # 10,000 lines is ~630,000
        if args.only == "dashboard":
            bench_dashboard(folder, args.runs)
            return
        url = f"sqlite:///{folder}/bench.db"
        store = post001.connect(url, user="bench")
        store.create_post(PostCreate(title="empty"))
        line = "The quick brown fox jumps over the lazy dog, again and again. "
        store.create_post(PostCreate(title="long", content="\n".join([line] * 10_000)))

        bare, ours = bench_launch(args.runs, url)
        print(f"launch to first screen: bare Textual {bare * 1000:.0f} ms, "
              f"post001 {ours * 1000:.0f} ms -> {ours / bare:.2f}x (target <= 1.5x)")
        if args.instructions:
            bench_launch_instructions(url)
        if args.only == "launch":
            store.close()
            return

        empty = asyncio.run(_keystrokes(url, "empty", args.keys))
        long = asyncio.run(_keystrokes(url, "long", args.keys))
        e_med, l_med = statistics.median(empty), statistics.median(long)
        print(f"keystroke: empty draft median {e_med * 1000:.1f} ms (p95 "
              f"{_p95(empty) * 1000:.1f} ms), 10,000-line draft median {l_med * 1000:.1f} ms "
              f"(p95 {_p95(long) * 1000:.1f} ms) -> {l_med / e_med:.2f}x (target <= 2x)")

        small_url = f"sqlite:///{folder}/small.db"
        small = post001.connect(small_url, user="bench")
        small.create_post(PostCreate(title="p"))
        for i in range(10):
            small.create_collective(CollectiveCreate(slug=f"c-{i:05d}", name=f"Circle {i}"))
        big_url = f"sqlite:///{folder}/big.db"
        big = post001.connect(big_url, user="bench")
        big.create_post(PostCreate(title="p"))
        started = time.perf_counter()
        for i in range(5_000):
            big.create_collective(CollectiveCreate(slug=f"c-{i:05d}", name=f"Circle {i}"))
        print(f"(set-up: 5,000 collectives in {time.perf_counter() - started:.1f} s)")
        few = asyncio.run(_picker(small_url, "p", args.runs))
        many = asyncio.run(_picker(big_url, "p", args.runs))
        f_med, m_med = statistics.median(few), statistics.median(many)
        print(f"picker open + one search key: 10 memberships {f_med * 1000:.0f} ms, "
              f"5,000 memberships {m_med * 1000:.0f} ms -> {m_med / f_med:.2f}x "
              f"(target <= 2x)")
        bench_dashboard(folder, args.runs)
        for s in (store, small, big):
            s.close()


if __name__ == "__main__":
    main()
