"""Layer rules, checked in a clean interpreter: the core never pulls in a UI or web stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_IN_CORE = ("textual", "fastapi", "uvicorn", "starlette", "post001.tui",
                     "post001.server", "post001.cli")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("code", [
    "import post001",
    "import post001.core.sql.store, post001.core.publishing, post001.core.permissions",
    "import post001\ns = post001.connect('sqlite:///:memory:', user='alice')\ns.close()",
])
def test_core_is_headless(code: str) -> None:
    loaded = _modules_after(code)
    leaked = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_IN_CORE
                    or any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CORE))
    assert leaked == []


def test_permissions_module_is_pure() -> None:
    loaded = _modules_after("import post001.core.permissions")
    assert not {"sqlalchemy", "httpx", "psycopg", "sqlite3"} & {m.split(".")[0] for m in loaded}


def test_importing_the_library_opens_no_database_and_skips_alembic() -> None:
    loaded = _modules_after("import post001")
    assert "alembic" not in loaded and "psycopg" not in loaded


# --- a writer's install: no server extra -----------------------------------------------

SERVER_ONLY = ("fastapi", "uvicorn", "argon2", "starlette", "prometheus_client")
_BLOCK = f"""
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def _without_server_extra(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCK + code, *args], capture_output=True,
                          text=True, check=False)


def test_core_cli_and_tui_import_without_the_server_extra() -> None:
    out = _without_server_extra(
        "import post001, post001.cli.main, post001.tui.app, post001.tui.demo, "
        "post001.core.backup, post001.core.stats, post001.core.logs\n"
        "import json; print(json.dumps(sorted(sys.modules)))")
    assert out.returncode == 0, out.stderr
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not {m.split(".")[0] for m in loaded} & set(SERVER_ONLY)


@pytest.mark.parametrize("argv", [["--help"], ["login", "--help"], ["flags", "--help"]])
def test_the_cli_works_without_the_server_extra(argv: list[str]) -> None:
    out = _without_server_extra("from post001.cli.main import main; main(sys.argv[1:])", *argv)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("argv", [["serve"], ["server", "user", "add", "bob"]])
def test_server_commands_say_which_extra_to_install(argv: list[str]) -> None:
    out = _without_server_extra("from post001.cli.main import main; main(sys.argv[1:])", *argv)
    assert out.returncode == 1
    assert 'pip install "post001[server]"' in out.stderr
    assert "Traceback" not in out.stderr


def test_the_cli_names_the_server_package_in_one_seam_only() -> None:
    """Import rules cannot see imports by name; this finds them: only the lazy mount of
    the administration commands (cli/server_admin.py) may name post001.server."""
    from pathlib import Path

    cli_dir = Path(__file__).resolve().parent.parent / "post001" / "cli"
    naming = sorted(p.name for p in cli_dir.glob("*.py")
                    if "post001.server" in p.read_text(encoding="utf-8"))
    assert naming == ["server_admin.py"]


def test_signing_in_loads_no_server_code() -> None:
    loaded = _modules_after(
        "from post001.cli.main import cli\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(cli, ['login', '--help'])\n"
        "CliRunner().invoke(cli, ['whoami', 'http://127.0.0.1:9', '--json'])\n")
    assert not [m for m in loaded if m.startswith(("post001.server", "fastapi", "uvicorn"))]
