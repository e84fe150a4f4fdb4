"""The app against a real team server (uvicorn on PostgreSQL): signing in from the app
when the token is missing or refused, the header, and signing out from the palette."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from keyring.backends import fail
from keyring_support import MemoryKeyring
from remote_support import PASSWORD

from post001.core import credentials, servers
from post001.tui.app import Post001App
from post001.tui.screens.dashboard import DashboardScreen
from post001.tui.screens.sign_in import SignInScreen
from tests.tui.conftest import SIZE, wait_for
from tests.tui.team.conftest import host_port, team_app, token_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def type_into(pilot: Any, app: Post001App, selector: str, text: str) -> None:
    field = app.screen.query_one(selector)
    field.value = ""
    field.focus()
    await pilot.pause()
    await pilot.press(*text)


def sign_in_ready(app: Any) -> bool:
    """The sign-in screen is up and composed (it becomes the screen before its fields mount)."""
    return isinstance(app.screen, SignInScreen) and bool(app.screen.query("#username"))


async def test_no_token_opens_the_sign_in_screen_and_a_wrong_password_says_so(
        server: str, use_keyring: Any) -> None:
    backend = use_keyring(MemoryKeyring())
    app = team_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: sign_in_ready(app))
        screen = app.screen
        assert "not logged in" in str(screen.query_one("#sign-in-why").render())
        assert screen.query_one("#server").value == server
        await type_into(pilot, app, "#username", "alice")
        await type_into(pilot, app, "#password", "not the password")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Wrong username or password"
                       in str(screen.query_one("#sign-in-message").render()))
        assert app.screen is screen and backend.entries == {}
        assert screen.query_one("#password").value == ""  # cleared for another try
        await type_into(pilot, app, "#password", PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.store is not None
                       and app.sub_title == f"alice @ {host_port(server)}", timeout=30)
        assert isinstance(app.screen, DashboardScreen)
    token = backend.entries[(credentials.SERVICE, server)]
    assert token and credentials.find_token(server) is not None
    entry = servers.find(server)
    assert entry.user == "alice" and entry.token_file is None  # the keyring holds it


async def test_without_a_keyring_the_screen_offers_a_private_token_file(
        server: str, use_keyring: Any, tmp_path: Path) -> None:
    use_keyring(fail.Keyring())
    app = team_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: sign_in_ready(app))
        screen = app.screen
        await type_into(pilot, app, "#username", "alice")
        await type_into(pilot, app, "#password", PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query_one("#token-file-box").has_class("-shown"))
        assert "no keyring on this machine" in str(screen.query_one("#no-keyring").render())
        suggested = screen.query_one("#token-file").value
        assert suggested.endswith(".token") and not Path(suggested).exists()
        assert app.store is None  # the password was not sent yet
        # A symbolic link in the token file's place is refused, not followed.
        target = tmp_path / "elsewhere"
        target.write_text("keep me")
        link = tmp_path / "link.token"
        link.symlink_to(target)
        await type_into(pilot, app, "#token-file", str(link))
        await type_into(pilot, app, "#password", PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "symbolic link"
                       in str(screen.query_one("#sign-in-message").render()))
        assert target.read_text() == "keep me"
        chosen = tmp_path / "alice.token"
        await type_into(pilot, app, "#token-file", str(chosen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.store is not None
                       and app.sub_title == f"alice @ {host_port(server)}", timeout=30)
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o600
    assert servers.find(server).token_file == chosen  # later starts need no flag
    found = credentials.find_token(servers.find(server))
    assert found is not None and found.source == "recorded_file"


async def test_a_token_file_signs_in_and_the_palette_signs_out(
        server: str, use_keyring: Any, tmp_path: Path) -> None:
    use_keyring(fail.Keyring())
    token_file = tmp_path / "t.token"
    token = token_for(server)
    token_file.write_text(token)
    os.chmod(token_file, 0o600)
    app = team_app(server, token_file=str(token_file))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store is not None
                       and app.sub_title == f"alice @ {host_port(server)}", timeout=30)
        # The header repaints its title on its own queue, after the sub_title changed.
        await wait_for(pilot, lambda: str(app.screen.query_one("HeaderTitle").render())
                       .endswith(f"alice @ {host_port(server)}"))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sign out")
        await wait_for(pilot, lambda: any("Sign out" in str(o.prompt) for o in
                                          app.screen.query("CommandList").first().options))
        commands = app.screen.query("CommandList").first()

        def highlighted() -> str:
            index = commands.highlighted
            return str(commands.options[index].prompt) if index is not None else ""

        for _ in range(len(commands.options) + 1):
            if "Sign out" in highlighted():
                break
            await pilot.press("down")
            await pilot.pause(0.05)
        assert "Sign out" in highlighted()
        await pilot.press("enter")
        await wait_for(pilot, lambda: sign_in_ready(app), timeout=30)
        assert app.store is None and app.sub_title == "not signed in"
    assert not token_file.exists()  # forgotten here
    with httpx.Client(timeout=30) as client:  # and revoked on the server
        response = client.get(f"{server}/api/v1/me",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


async def test_a_refused_token_opens_the_sign_in_screen_with_the_reason(
        server: str, use_keyring: Any, tmp_path: Path) -> None:
    use_keyring(MemoryKeyring())
    token_file = tmp_path / "old.token"
    token_file.write_text("p001_not-a-real-token")
    os.chmod(token_file, 0o600)
    app = team_app(server, token_file=str(token_file))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: sign_in_ready(app), timeout=30)
        assert app.store is None
        await type_into(pilot, app, "#username", "alice")
        await type_into(pilot, app, "#password", PASSWORD)
        await pilot.press("enter")
        # The refused --token-file no longer comes first: the new token is used.
        await wait_for(pilot, lambda: app.store is not None, timeout=30)
        assert app.username == "alice"


async def test_a_token_revoked_mid_session_asks_to_sign_in_and_writing_goes_on(
        team: Any, use_keyring: Any) -> None:
    from post001.core.remote import RemoteStore
    from post001.tui.screens.editor import EditorScreen

    use_keyring(MemoryKeyring())
    # Saves only on ctrl+s here: a sign-in screen that opened in the middle of a word
    # would take the rest of the word's keys.
    app = team.app(autosave_delay=60, autosave_max_interval=600)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store is not None, timeout=30)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        await pilot.pause()
        await pilot.press(*"Revoked", "tab", *"first", "ctrl+s")
        await wait_for(pilot, lambda: [r.content for r in team.rows()] == ["first"], 30)
        other_device = RemoteStore(team.url, token=team.token)
        other_device.revoke_current_token()  # e.g. "sign out everywhere" elsewhere
        other_device.close()
        await pilot.press(*" second", "ctrl+s")
        await wait_for(pilot, lambda: sign_in_ready(app), timeout=30)
        await type_into(pilot, app, "#username", "alice")
        await type_into(pilot, app, "#password", PASSWORD)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen)
                       and app.store is not None, timeout=30)
        await pilot.press(*" third", "ctrl+s")
        await wait_for(pilot, lambda: [r.content for r in team.rows()]
                       == ["first second third"], 30)
