"""A real process in a real pseudo-terminal: type, wait past auto-save, SIGKILL, reopen."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import post001

LAUNCHER = """
import sys
from post001.tui.app import run_app
run_app(sys.argv[1], "writer")
"""


class Terminal:
    """The primary side of the pseudo-terminal: what the app drew so far, and a way to
    wait until it drew something (a generous deadline, never a fixed wait)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = b""

    def wait_for(self, *wanted: bytes, timeout: float = 60.0) -> None:
        """Read until every one of `wanted` appeared since the last call."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while not all(w in self.seen[start:] for w in wanted):
            if time.monotonic() > deadline:
                raise AssertionError(f"the app never showed {wanted!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.seen += os.read(self.fd, 65536)
                except OSError:
                    break


def _wait_until_stored(url: str, content: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        store = post001.connect(url, user="writer")
        try:
            posts = store.list_posts()
            if posts and store.get_post(posts[0].id).content == content:
                return
        finally:
            store.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"{content!r} was never saved")
        time.sleep(0.1)  # polling the database file: the app runs in another process


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_text_survives_sigkill_after_autosave(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    post001.connect(url, user="writer").close()  # created and migrated up front
    env = {**os.environ, "POST001_AUTOSAVE_DELAY": "0.3", "TERM": "xterm-256color",
           "COLUMNS": "100", "LINES": "30"}
    primary, secondary = os.openpty()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, url], stdin=secondary,
                            stdout=secondary, stderr=secondary, env=env, close_fds=True,
                            start_new_session=True)
    os.close(secondary)
    terminal = Terminal(primary)
    try:
        # The store is open once the header names the user.
        terminal.wait_for(b"post001", b"writer")
        os.write(primary, b"n")
        terminal.wait_for(b"new draft")  # the editor's status line
        os.write(primary, b"Crash proof")
        terminal.wait_for(b"unsaved")  # the first key reached the title
        os.write(primary, b"\t")
        os.write(primary, b"every word survives")
        # The writer sees "saved at": that is the promise the crash must not break. On a
        # loaded machine a save may have caught the title alone first; the last key's
        # save is then the next one, seen in the database.
        terminal.wait_for(b"saved at")
        _wait_until_stored(url, "every word survives")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    store = post001.connect(url, user="writer")
    try:
        [summary] = store.list_posts()
        post = store.get_post(summary.id)
    finally:
        store.close()
    assert post.title == "Crash proof"
    assert post.content == "every word survives"
