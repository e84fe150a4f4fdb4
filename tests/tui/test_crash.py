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


def _drain(fd: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out


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
    try:
        screen = _drain(primary, 4.0)
        assert b"post001" in screen
        os.write(primary, b"n")
        _drain(primary, 1.0)
        for chunk in (b"Crash proof", b"\t", b"every word survives"):
            os.write(primary, chunk)
            _drain(primary, 0.3)
        _drain(primary, 2.0)  # well past the 0.3 s auto-save delay
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
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
