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
