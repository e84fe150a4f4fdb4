"""The CLI against a team server: sign-in that persists, named servers, no silent identity,
whoami/status/sync, and a machine without a keyring."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from fault_proxy import FaultProxy, fault_proxy
from keyring.backends import fail
from remote_support import PASSWORD, ensure_user, live_server, make_test_app, sign_in

import post001
from post001 import PostCreate, PostUpdate
from post001.cli.main import cli
from post001.core.servers import name_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, env=env)


@pytest.fixture
def no_keyring(use_keyring: Any) -> None:
    use_keyring(fail.Keyring())


@pytest.fixture
def server(pg_url: str, clock: Any, admin: sa.Engine) -> Iterator[str]:
    app = make_test_app(pg_url, clock)
    with live_server(app) as url:
        for name in ("alice", "bob"):
            ensure_user(admin, name, clock)
        yield url
    app.state.ctx.close()


def config() -> str:
    return Path(os.environ["POST001_CONFIG"]).read_text()


def test_login_with_a_token_file_persists_for_later_commands(
        server: str, tmp_path: Path, no_keyring: None) -> None:
    Path(os.environ["POST001_CONFIG"]).write_text(
        '# my settings, keep them\ntheme = "textual-light"  # I like it light\n')
    refused = run("login", server, "--username", "alice", "--password-stdin",
                  input=PASSWORD + "\n")
    assert refused.exit_code == 1 and "keyring is not available" in refused.output
    token_file = tmp_path / "alice.token"
    ok = run("login", server, "--username", "alice", "--password-stdin", "--token-file",
             str(token_file), "--json", input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    body = json.loads(ok.stdout)
    assert body["token_store"] == "file" and body["default"] is True
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    text = config()
    assert "# my settings, keep them" in text and "# I like it light" in text
    assert f'server_url = "{name_for(server)}"' in text and str(token_file) in text
    # Neither --server nor --token-file from now on.
    made = run("collective", "create", "team", "--name", "Team", "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["owner"] == "alice"
    listed = run("post", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout)["items"] == []
    who = run("whoami")
    assert who.exit_code == 0 and who.output.startswith("alice on ")
    out = run("logout", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["revoked"] is True
    assert not token_file.exists() and str(token_file) not in config()
    after = run("post", "list")
    assert after.exit_code == 1 and "not logged in" in after.output


def test_named_servers_like_gh_hosts(server: str, tmp_path: Path, no_keyring: None) -> None:
    token_file = tmp_path / "work.token"
    ok = run("login", server, "--name", "work", "--username", "bob", "--password-stdin",
             "--token-file", str(token_file), input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    assert "[servers.work]" in config() and 'user = "bob"' in config()
    who = run("whoami", "--server", "work", "--json")
    assert who.exit_code == 0, who.output
    assert json.loads(who.stdout)["username"] == "bob"
    by_url = run("whoami", "--server", server)  # the URL finds the recorded entry too
    assert by_url.exit_code == 0 and by_url.output.strip() == f"bob on work ({server})"
    positional = run("whoami", "work")
    assert positional.exit_code == 0
    unknown = run("post", "list", "--server", "play", "--json")
    assert unknown.exit_code == 1
    error = json.loads(unknown.stderr)["error"]
    assert error["field"] == "server" and "work" in error["message"]
    lib = post001.connect("work")  # the library takes the name as well
    assert lib.me().username == "bob"
    lib.close()


def test_acting_as_someone_else_is_refused_naming_both(server: str, tmp_path: Path,
                                                      no_keyring: None) -> None:
    token_file = tmp_path / "t"
    run("login", server, "--username", "alice", "--password-stdin", "--token-file",
        str(token_file), input=PASSWORD + "\n")
    refused = run("--as", "bob", "post", "new", "--title", "x")
    assert refused.exit_code == 2
    assert "'bob'" in refused.output and "'alice'" in refused.output
    as_json = run("post", "new", "--title", "x", "--as", "bob", "--json")
    assert as_json.exit_code == 2
    error = json.loads(as_json.stderr)["error"]
    assert error["field"] == "user"
    assert error["details"] == {"requested": "bob", "token_user": "alice"}
    by_env = run("post", "list", env={"POST001_USER": "bob"})
    assert by_env.exit_code == 2 and "bob" in by_env.output and "alice" in by_env.output
    who = run("whoami", "--as", "bob")
    assert who.exit_code == 2
    same = run("--as", "alice", "post", "new", "--title", "mine", "--json")
    assert same.exit_code == 0 and json.loads(same.stdout)["author"] == "alice"
    with pytest.raises(post001.ValidationError) as caught:  # the library, likewise
        post001.connect(server, user="bob", token_file=str(token_file))
    assert caught.value.field == "user" and "alice" in caught.value.message
    with post001.connect(server, token_file=str(token_file)) as alice:
        assert [p.title for p in alice.list_posts()] == ["mine"]  # nothing written as bob


def test_whoami_takes_server_and_token_file_like_every_command(server: str, tmp_path: Path,
                                                              no_keyring: None) -> None:
    with httpx.Client(timeout=30) as client:
        token = sign_in(client, server, "alice")
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    missing = run("whoami", "--server", server)
    assert missing.exit_code == 1 and "not logged in" in missing.output
    who = run("whoami", "--server", server, "--token-file", str(token_file), "--json")
    assert who.exit_code == 0, who.output
    assert json.loads(who.stdout)["username"] == "alice"
    before = run("--server", server, "--token-file", str(token_file), "whoami")
    assert before.exit_code == 0 and before.output.startswith("alice on ")
    down = run("whoami", "--server", "http://127.0.0.1:9", "--token-file", str(token_file))
    assert down.exit_code == 1 and "cannot reach" in down.output


@pytest.fixture
def proxied(server: str) -> Iterator[FaultProxy]:
    with fault_proxy(server) as proxy:
        yield proxy


def test_status_and_sync(server: str, proxied: FaultProxy, tmp_path: Path,
                         no_keyring: None) -> None:
    token_file = tmp_path / "t"
    ok = run("login", proxied.url, "--username", "alice", "--password-stdin",
             "--token-file", str(token_file), input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    store = post001.connect(offline=True, replay_every=None, retries=0)
    post = store.create_post(PostCreate(title="Field notes", content="v1"))
    proxied.go_down()
    store.save_draft(post.id, PostUpdate(content="v2"), expected_version=1)
    store.save_draft(post.id, PostUpdate(content="v3"), expected_version=2)
    draft = store.create_post(PostCreate(title="Written on the train"))
    store.close()

    status = run("status", "--json")
    assert status.exit_code == 0, status.output
    body = json.loads(status.stdout)
    assert (body["user"], body["pending"], body["online"]) == ("alice", 3, False)
    assert body["summary"] == "offline: 3 changes kept on this machine"
    human = run("status")
    assert "offline: 3 changes kept on this machine" in human.output

    still_down = run("sync", "--json")
    assert still_down.exit_code == 1
    assert json.loads(still_down.stdout)["remaining"] == 3

    proxied.come_back()
    synced = run("sync", "--json")
    assert synced.exit_code == 0, synced.output
    report = json.loads(synced.stdout)
    assert (report["sent"], report["remaining"]) == (3, 0)
    assert report["created"] == [str(draft.id)]
    shown = run("post", "show", str(post.id), "--json")
    assert json.loads(shown.stdout)["content"] == "v3"
    assert json.loads(run("status", "--json").stdout)["pending"] == 0
    assert "Nothing is waiting" in run("sync").output


def test_sync_resolves_a_conflict_from_the_command_line(server: str, proxied: FaultProxy,
                                                        tmp_path: Path, no_keyring: None
                                                        ) -> None:
    token_file = tmp_path / "t"
    run("login", proxied.url, "--username", "alice", "--password-stdin", "--token-file",
        str(token_file), input=PASSWORD + "\n")
    store = post001.connect(offline=True, replay_every=None, retries=0)
    post = store.create_post(PostCreate(title="Both", content="v1"))
    proxied.go_down()
    store.save_draft(post.id, PostUpdate(content="mine"), expected_version=1)
    store.close()
    elsewhere = post001.connect(server, token_file=str(token_file))
    elsewhere.save_draft(post.id, PostUpdate(content="theirs"), expected_version=1)
    proxied.come_back()
    stuck = run("sync")
    assert stuck.exit_code == 1
    assert "Conflict" in stuck.output and f"--resolve {str(post.id)[:8]}=mine" in stuck.output
    fixed = run("sync", "--resolve", f"{str(post.id)[:8]}=mine", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert elsewhere.get_post(post.id).content == "mine"
    bad = run("sync", "--resolve", "nonsense")
    assert bad.exit_code == 1 and "POST=mine" in bad.output
    elsewhere.close()


def test_logout_keeps_the_journal_for_the_user(server: str, proxied: FaultProxy,
                                               tmp_path: Path, no_keyring: None) -> None:
    token_file = tmp_path / "t"
    run("login", proxied.url, "--username", "alice", "--password-stdin", "--token-file",
        str(token_file), input=PASSWORD + "\n")
    store = post001.connect(offline=True, replay_every=None, retries=0)
    post = store.create_post(PostCreate(title="Kept", content="v1"))
    proxied.go_down()
    store.save_draft(post.id, PostUpdate(content="unsent"), expected_version=1)
    store.close()
    proxied.come_back()
    out = run("logout", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["pending"] == 1
    again = run("login", proxied.url, "--username", "alice", "--password-stdin",
                "--token-file", str(token_file), input=PASSWORD + "\n")
    assert again.exit_code == 0
    synced = run("sync", "--json")
    assert synced.exit_code == 0 and json.loads(synced.stdout)["sent"] == 1


def test_login_refuses_to_write_a_token_through_a_symlink(
        server: str, tmp_path: Path, no_keyring: None) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "alice.token"
    link.symlink_to(victim)
    refused = run("login", server, "--username", "alice", "--password-stdin",
                  "--token-file", str(link), input=PASSWORD + "\n")
    assert refused.exit_code != 0 and "symbolic link" in refused.output
    assert victim.read_text() == "precious\n" and link.is_symlink()
