"""What a command imports: the guard on the CLI's cold start.

Scripts call `post001` in loops, so each command loads only what it needs (see
post001/cli/commands.py). Timings live in benchmarks/bench_cli.py; these tests check the
import boundary itself, in a fresh interpreter, through `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from post001.cli import commands

# Runs the console script's main() with the given arguments, then prints the modules
# loaded (stdout carries the command's own output first).
_PROBE = """
import json, sys
from post001.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print("MODULES", json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(*argv: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True,
                          text=True, env=dict(os.environ), timeout=120)
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("MODULES "), (proc.stdout, proc.stderr)
    report = json.loads(last.removeprefix("MODULES "))
    assert report["code"] in (0, None), proc.stderr
    return set(report["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_version_loads_no_models_and_no_database() -> None:
    loaded = _modules_after("--version")
    assert _loaded(loaded, ("sqlalchemy", "sqlmodel", "pydantic", "pydantic_settings",
                            "alembic", "post001.core.models", "post001.core.config",
                            "textual", "httpx", "yaml")) == []
    # No command module either: each is mounted by name (post001/cli/commands.py).
    assert _loaded(loaded, tuple(module for module, _, _ in
                                 commands.WRITER_COMMANDS.values())) == []


def _seeded(tmp_path: Path) -> str:
    import post001

    url = f"sqlite:///{tmp_path / 'posts.db'}"
    store = post001.connect(url, user="alice")
    store.create_post(post001.PostCreate(title="Hello", content="one two three"))
    store.close()
    return url


def test_listing_posts_on_a_local_file_loads_no_sqlalchemy_and_no_pydantic(
        tmp_path: Path) -> None:
    """The lean path (post001/core/sql/quick_listing.py): the stdlib's sqlite3 only."""
    url = _seeded(tmp_path)
    for extra in ((), ("--json",), ("--status", "draft", "--limit", "1")):
        loaded = _modules_after("post", "list", *extra, "--db", url, "--as", "alice")
        assert "post001.cli.posts" in loaded and "sqlite3" in loaded
        assert _loaded(loaded, ("sqlalchemy", "pydantic", "pydantic_core", "pydantic_settings",
                                "post001.core.models", "post001.core.config", "alembic",
                                "asyncio", "textual", "httpx", "yaml", "psycopg", "keyring",
                                "post001.tui", "post001.server")) == []
        others = {module for module, _, _ in commands.WRITER_COMMANDS.values()}
        assert _loaded(loaded, tuple(others - {"post001.cli.posts"})) == []


def test_listing_posts_on_the_full_path_loads_its_command_and_the_store_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from post001.cli.posts import FULL_PATH_ENV

    url = _seeded(tmp_path)
    monkeypatch.setenv(FULL_PATH_ENV, "1")
    loaded = _modules_after("post", "list", "--json", "--db", url, "--as", "alice")
    assert "post001.cli.posts" in loaded and "sqlalchemy" in loaded
    # The schema check reads one row; Alembic loads only when a migration must run.
    # The tables are SQLAlchemy Core (post001/core/sql/tables.py): no ORM, no SQLModel.
    assert _loaded(loaded, ("alembic", "sqlmodel", "sqlalchemy.orm", "textual", "httpx",
                            "yaml", "psycopg", "keyring", "post001.tui",
                            "post001.server")) == []
    others = {module for module, _, _ in commands.WRITER_COMMANDS.values()}
    assert _loaded(loaded, tuple(others - {"post001.cli.posts"})) == []


@pytest.mark.parametrize("name", sorted(commands.WRITER_COMMANDS))
def test_every_mounted_command_loads_with_its_own_short_help(name: str) -> None:
    module, attribute, short_help = commands.WRITER_COMMANDS[name]
    command = getattr(__import__(module, fromlist=[attribute]), attribute)
    assert isinstance(command, click.Command)
    assert command.name == name
    assert command.get_short_help_str(limit=200) == short_help


def test_the_terminal_app_starts_without_the_database_layer() -> None:
    """The first frame needs the app and the dashboard only: settings, the store and the
    palette's commands load later (post001/tui/app.py)."""
    probe = ("import json, sys\nimport post001.tui.app, post001.tui.screens.dashboard\n"
             "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    loaded = set(json.loads(out.stdout))
    assert _loaded(loaded, ("sqlalchemy", "pydantic", "pydantic_settings", "httpx",
                            "post001.core.models", "post001.core.config",
                            "post001.tui.commands", "post001.tui.screens.editor")) == []
