"""Real processes the tests start: a `post001 serve` that is waited for until it answers,
and stopping any child process (PgBouncer too: tests/pgbouncer_support.py) so that none
outlives its test."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
from remote_support import free_port


@dataclass(frozen=True)
class Served:
    """A running `post001 serve`: its base URL, and the process (the leader of its own
    process group, workers included)."""

    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def post001_serve(*args: str, env: dict[str, str] | None = None,
                  timeout: float = 60.0) -> Iterator[Served]:
    """`post001 serve ARGS` (e.g. --db URL, --workers 2) on a free loopback port, with
    `env` as its whole environment (default: this one's). Yields once /api/health answers
    200; afterwards the server and all its workers are stopped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Its output goes to a file, not a pipe: a pipe nobody reads can fill up and stall it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "post001.cli.main", "serve", "--port", str(port),
             "--log-level", "warning", *args],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True)  # its own group: stopping it reaches every worker
        try:
            _wait_until_healthy(url, process, log, timeout)
            yield Served(url, process)
        finally:
            stop(process, group=True)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: IO[bytes],
                        timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise RuntimeError(f"post001 serve did not answer within {timeout:.0f} s"
                               f"{_tail(log)}")
        # Between two health checks, wait on the process itself: its exit ends the wait
        # at once (and the test, with what it said).
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(0.1)
            raise RuntimeError(f"post001 serve exited ({process.returncode}){_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    said = log.read().decode(errors="replace")[-2000:]
    return f":\n{said}" if said else ""


def stop(process: subprocess.Popen[Any], *, group: bool = False, grace: float = 20.0
         ) -> None:
    """SIGTERM (to the whole process group with `group`), then SIGKILL if it has not
    exited after `grace` seconds; returns once it has."""
    _signal(process, signal.SIGTERM, group)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL, group)
        process.wait()


def _signal(process: subprocess.Popen[Any], signum: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        if group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
