"""A real PgBouncer in transaction pooling mode on a free loopback port, in front of the
test PostgreSQL (`.ci/run` installs Debian's package).

`pgbouncer(pg_url, tmp_path)` writes an ini (auth_type trust with an auth file naming
the test's user), starts the binary in the foreground and yields a URL like `pg_url`
that goes through it. Without the binary the caller skips, unless POST001_REQUIRE_PG=1
(CI), where it fails: CI must exercise the pooler.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from remote_support import free_port
from subprocess_support import stop

REQUIRE = os.environ.get("POST001_REQUIRE_PG") == "1"


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None


def require_pgbouncer() -> str:
    binary = pgbouncer_binary()
    if binary is None:
        message = ("pgbouncer is not installed (Debian: apt-get install pgbouncer; "
                   ".ci/run installs it)")
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    return binary


@contextlib.contextmanager
def pgbouncer(pg_url: str, folder: Path, *, pool_size: int = 3) -> Iterator[str]:
    """PgBouncer (pool_mode = transaction, `pool_size` server connections per database
    and user, so clients really share them) in front of `pg_url`'s server."""
    binary = require_pgbouncer()
    url = sa.engine.make_url(pg_url)
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # run as root, pgbouncer drops to another user and reads these
    users = folder / "users.txt"
    users.write_text(f'"{url.username or "postgres"}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(f"""[databases]
* = host={url.host or "127.0.0.1"} port={url.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
""")
    for path in (users, ini):
        path.chmod(0o644)
    command = [binary, str(ini)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        command[1:1] = ["-u", "postgres" if _user_exists("postgres") else "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, name="pgbouncer-log", daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for its own word that it listens
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("pgbouncer did not start:\n" + "".join(output)) from None
            if line == "":
                raise RuntimeError("pgbouncer exited:\n" + "".join(output))
            if "process up" in line:
                break
        yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        stop(process)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
