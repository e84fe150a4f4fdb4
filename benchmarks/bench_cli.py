"""CLI cold start: prints ratios from one run (no assertions).

Each command runs in a fresh process, interleaved with the baseline `python -c pass` so
that both see the same load on a shared machine; medians of wall time and of CPU time
(user + system, less sensitive to other processes on the machine).

Targets (tracked in docs/issue 10 terms: 0.1 s and 0.3 s against 0.013 s for
`python -c pass` on the team's machines), as ratios to the baseline measured here:

1. `post001 --version`                        <= 7.5x `python -c pass`
2. `post001 post list --json`, 20-post SQLite  <= 23x  `python -c pass`

    python benchmarks/bench_cli.py [--runs 15] [--imports] [--instructions]

Also shown, without targets: `post list --json` forced onto its full path (SQLAlchemy,
pydantic, settings: what the lean path of post001/core/sql/quick_listing.py avoids on a
local SQLite file), `post show` and `post new` (which always take the full path).

`--imports` also prints the slowest imports of `post list --json` (python -X importtime),
to see where the time goes. `--instructions` also counts the instructions each command
executes (valgrind's callgrind, one run each, about a minute): unlike times, counts do not
move with the load other processes put on a shared machine.

The commands run with Python's bytecode cache, as an installed package does (pip
compiles it): PYTHONDONTWRITEBYTECODE is dropped for them, else every run would compile
post001's own modules from source again (about 80 ms of `post list`).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERSION_TARGET = 7.5
LIST_TARGET = 23.0


def _post001() -> list[str]:
    """The console script next to this interpreter (as users run it), else `-m`."""
    script = Path(sys.executable).with_name("post001")
    if script.exists():
        return [str(script)]
    found = shutil.which("post001")
    return [found] if found else [sys.executable, "-m", "post001.cli.main"]


def _seed(url: str, posts: int) -> str:
    """`posts` posts by "bench"; the id of the last."""
    import post001

    store = post001.connect(url, user="bench")
    try:
        ids = [store.create_post(post001.PostCreate(
            title=f"Post {n}", content=" ".join(["word"] * 300))).id for n in range(posts)]
    finally:
        store.close()
    return str(ids[-1])


#: The tests' switch that forces `post list` onto its full path (post001/cli/posts.py).
FULL_PATH_ENV = "_POST001_LISTING_FULL_PATH"
FULL_LIST = "  (full path, no target)"


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run."""
    if argv and argv[0] == FULL_PATH_ENV:
        argv, env = argv[1:], {**env, FULL_PATH_ENV: "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _imports(argv: list[str], env: dict[str, str], top: int = 15) -> None:
    python = [sys.executable, "-X", "importtime", "-m", "post001.cli.main"]
    done = subprocess.run(python + argv, env=env, capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # one space, then two per level
        if depth == 0:
            rows.append((int(parts[1]), name.strip()))
    print(f"\nslowest top-level imports of `post001 {' '.join(argv)}` (cumulative):")
    for micros, name in sorted(rows, reverse=True)[:top]:
        print(f"  {micros / 1000:7.1f} ms  {name}")


def _instructions(argv: list[str], env: dict[str, str]) -> int:
    if argv and argv[0] == FULL_PATH_ENV:
        argv, env = argv[1:], {**env, FULL_PATH_ENV: "1"}
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           *argv], env=env, capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", done.stderr)
    assert match, done.stderr[-500:]
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--imports", action="store_true")
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        for name in ("POST001_DATABASE_URL", "POST001_SERVER_URL", "POST001_USER",
                     "POST001_TOKEN", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        env.update(POST001_DATA_DIR=f"{tmp}/data", POST001_CONFIG=f"{tmp}/config.toml")
        os.environ.update(POST001_DATA_DIR=env["POST001_DATA_DIR"],
                          POST001_CONFIG=env["POST001_CONFIG"])
        url = f"sqlite:///{tmp}/bench.db"
        last = _seed(url, 20)
        scratch = f"sqlite:///{tmp}/scratch.db"  # `post new` adds a post every run
        _seed(scratch, 1)

        as_bench = ["--db", url, "--as", "bench"]
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "post001 --version": [*_post001(), "--version"],
            "post001 post list --json": [*_post001(), "post", "list", "--json", *as_bench],
            FULL_LIST: [FULL_PATH_ENV, *_post001(), "post", "list", "--json", *as_bench],
            "post001 post show --json": [*_post001(), "post", "show", last[:8], "--json",
                                         *as_bench],
            "post001 post new --json": [*_post001(), "post", "new", "--title", "Bench",
                                        "--json", "--db", scratch, "--as", "bench"],
        }
        for argv in cases.values():  # warm the file and bytecode caches
            _once(argv, env)
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved: every case sees the same load
            for name, argv in cases.items():
                wall, cpu = _once(argv, env)
                walls[name].append(wall)
                cpus[name].append(cpu)

        wall_of = {name: statistics.median(values) for name, values in walls.items()}
        cpu_of = {name: statistics.median(values) for name, values in cpus.items()}
        base_wall, base_cpu = wall_of["python -c pass"], cpu_of["python -c pass"]
        print(f"CLI cold start, median of {args.runs} interleaved runs "
              f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f})")
        print(f"{'':28} {'wall':>9} {'ratio':>7} {'cpu':>9} {'ratio':>7}  target")
        targets = {"post001 --version": VERSION_TARGET, "post001 post list --json": LIST_TARGET}
        for name in cases:
            target = targets.get(name)
            wall_ratio, cpu_ratio = wall_of[name] / base_wall, cpu_of[name] / base_cpu
            verdict = ""
            if target is not None:
                verdict = f"<= {target:g}x " + ("met" if wall_ratio <= target else "MISSED")
            print(f"{name:28} {wall_of[name] * 1000:7.1f}ms {wall_ratio:6.1f}x "
                  f"{cpu_of[name] * 1000:7.1f}ms {cpu_ratio:6.1f}x  {verdict}")
        if args.instructions:
            counts = {name: _instructions(argv, env) for name, argv in cases.items()}
            base = counts["python -c pass"]
            print("\ninstructions executed (valgrind), ratio to python -c pass:")
            for name, count in counts.items():
                print(f"  {name:28} {count / 1e6:8.0f} M {count / base:6.1f}x")
        if args.imports:
            _imports(["post", "list", "--json", "--db", url, "--as", "bench"], env)


if __name__ == "__main__":
    main()
