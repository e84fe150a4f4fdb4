"""SIGKILL of the app while the server is away: what it kept in the journal goes out by
itself on the next start. The first app runs in a child process (driven by a pilot
there) so it can really be killed; the second runs here."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import pytest

from tests.tui.conftest import SIZE, wait_for
from tests.tui.team.conftest import Team

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHILD = """
import asyncio, json, re, sys
from post001.core.config import Settings
from post001.tui.app import build_app
from post001.tui.team import TeamTarget

def say(**what):
    print(json.dumps(what), flush=True)

async def until(pilot, condition, timeout=120.0):  # a bound on a hang, not a pace
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            say(error="timed out")
            sys.exit(3)
        await pilot.pause(0.05)

async def main(url, token_file):
    app = build_app(None, Settings(autosave_delay=0.3),
                    team=TeamTarget(url, token_file=token_file))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.store is not None)
        await pilot.press("n")
        await until(pilot, lambda: type(app.screen).__name__ == "EditorScreen")
        await pilot.pause()
        await pilot.press(*"Survivor", "tab", *"one")
        editor = app.screen
        await until(pilot, lambda: editor.post_id is not None and not editor.saver.dirty
                    and not editor.saver.in_flight)
        say(state="saved", id=str(editor.post_id), version=editor.version)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # the server goes away
        await pilot.press(*" two")
        await until(pilot, lambda: re.search("offline: 1 change kept", app.sub_title))
        await pilot.press(*" three")
        await until(pilot, lambda: re.search("offline: 2 changes kept", app.sub_title))
        say(state="kept", header=app.sub_title)
        await asyncio.sleep(600)  # killed here

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_the_journal_replays_on_the_next_start_after_a_sigkill(team: Team) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, team.proxy.url,
                              str(team.token_file)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        saved = json.loads(child.stdout.readline())
        assert saved["state"] == "saved", saved
        assert team.row(saved["id"]).content == "one"
        team.proxy.go_down()
        child.stdin.write("\n")
        child.stdin.flush()
        kept = json.loads(child.stdout.readline())
        assert kept["state"] == "kept", kept
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert team.row(saved["id"]).content == "one"  # the words are only on this machine
    team.proxy.come_back()
    app = team.app()
    async with app.run_test(size=SIZE) as pilot:
        # Generous bounds on a hang (the replayer looks every 2 s): under -n 4 on two busy
        # cores, starting the app and replaying once took longer than 30 s.
        await wait_for(pilot, lambda: team.row(saved["id"]).content == "one two three",
                       timeout=90)
        row: Any = team.row(saved["id"])
        assert (row.title, row.version) == ("Survivor", saved["version"] + 2)  # two saves
        await wait_for(pilot, lambda: "kept" not in app.sub_title and "waiting"
                       not in app.sub_title and app.store is not None, timeout=90)
