"""The server's CLI end to end: add a user, serve, log in (keyring), use the ordinary CLI
against the server, whoami, logout; token administration. (Sign-in in depth:
tests/server/test_team_cli.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from keyring_support import MemoryKeyring
from remote_support import live_server, make_test_app

from post001.cli.main import cli
from post001.core.servers import name_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def memory_keyring(use_keyring: Any) -> MemoryKeyring:
    backend: MemoryKeyring = use_keyring(MemoryKeyring())
    return backend


def _run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), input=input, env=env)
    return result


def test_add_user_login_use_whoami_logout(pg_url: str, clock: Any, tmp_path: Any,
                                          memory_keyring: MemoryKeyring) -> None:
    added = _run("server", "--db", pg_url, "user", "add", "alice", "--password-stdin",
                 input="a long password\n")
    assert added.exit_code == 0, added.output
    again = _run("server", "--db", pg_url, "user", "add", "alice", input="another one\n")
    assert again.exit_code == 1 and "already has a password" in again.output
    short = _run("server", "--db", pg_url, "user", "add", "bob", input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output

    app = make_test_app(pg_url, clock)
    with live_server(app) as url:
        wrong = _run("login", url, "--username", "alice", "--password-stdin",
                     input="not it\n")
        assert wrong.exit_code == 1 and "Wrong username or password" in wrong.output
        assert memory_keyring.entries == {}

        ok = _run("login", url, "--username", "alice", "--password-stdin",
                  input="a long password\n")
        assert ok.exit_code == 0, ok.output
        assert list(memory_keyring.entries) == [("post001", url)]
        token = memory_keyring.entries[("post001", url)]
        assert token.startswith("p001_") and token not in ok.output

        who = _run("whoami", url)
        assert who.exit_code == 0, who.output
        assert who.output.strip() == f"alice on {name_for(url)} ({url})"

        # The ordinary CLI works against the server unchanged.
        env = {"POST001_SERVER_URL": url}
        made = _run("collective", "create", "weekend", "--name", "Weekend", "--json", env=env)
        assert made.exit_code == 0, made.output
        listed = _run("collective", "list", "--json", env=env)
        assert listed.exit_code == 0, listed.output
        assert [c["slug"] for c in json.loads(listed.output)] == ["weekend"]

        # --server and --token-file select the server and the token explicitly.
        token_file = tmp_path / "token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o644)
        loose = _run("post", "list", "--server", url, "--token-file", str(token_file),
                     "--json")
        assert loose.exit_code == 1
        assert json.loads(loose.stderr)["error"]["field"] == "token_file"  # must be 0600
        token_file.chmod(0o600)
        mine = _run("collective", "show", "weekend", "--server", url, "--token-file",
                    str(token_file), "--json")
        assert mine.exit_code == 0, mine.output
        assert json.loads(mine.output)["owner"] == "alice"

        out = _run("logout", url)
        assert out.exit_code == 0 and "Signed out" in out.output
        assert memory_keyring.entries == {}
        after = _run("whoami", url)
        assert after.exit_code == 1 and "not logged in" in after.output
        # The token was revoked on the server too, not only forgotten here.
        reused = _run("whoami", url, env={"POST001_TOKEN": token})
        assert reused.exit_code == 1 and "revoked" in reused.output
    app.state.ctx.close()


def test_token_administration(pg_url: str, tmp_path: Any) -> None:
    added = _run("server", "--db", pg_url, "user", "add", "svc", "--json",
                 input="a long password\n")
    assert added.exit_code == 0 and json.loads(added.stdout)["username"] == "svc"
    again = _run("server", "--db", pg_url, "user", "add", "svc", "--json",
                 input="a long password\n")
    assert again.exit_code == 1 and again.stdout == ""
    assert json.loads(again.stderr)["error"]["category"] == "validation"
    issued = _run("server", "--db", pg_url, "token", "issue", "svc", "--days", "1")
    assert issued.exit_code == 0
    token = issued.output.strip()
    listed = _run("server", "--db", pg_url, "token", "list", "--json")
    rows = json.loads(listed.output)
    assert [(r["user"], r["revoked"]) for r in rows] == [("svc", False)]
    assert token not in listed.output
    revoked = _run("server", "--db", pg_url, "token", "revoke", "--token-stdin",
                   input=token + "\n")
    assert revoked.exit_code == 0 and "Revoked 1 token" in revoked.output
    by_user = _run("server", "--db", pg_url, "token", "revoke", "--user", "svc")
    assert "Revoked 0 token" in by_user.output
    bad = _run("server", "--db", pg_url, "token", "revoke", "not-an-id")
    assert bad.exit_code == 1 and "not a token id" in bad.output


def test_serve_help_lists_the_options() -> None:
    result = _run("serve", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--db"):
        assert option in result.output
    assert "127.0.0.1" in result.output


def test_serve_with_two_workers(pg_url: str) -> None:
    """`post001 serve --workers 2` in a subprocess: both workers answer and schedule."""
    import httpx
    from subprocess_support import post001_serve

    with post001_serve("--workers", "2", "--db", pg_url) as served:
        body = httpx.get(f"{served.url}/api/health", timeout=2).json()
    assert body["status"] == "ok"
    assert body["row_level_security"] is True
