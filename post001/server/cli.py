"""The server's administration commands: `serve`, `server user ...`, `server token ...`.

Mounted on the main `post001` group through the CLI's one seam to this package
(post001/cli/server_admin.py) and imported only when one of them runs. They reuse the
CLI's options (`--db`, `--json`), its error handling and its output helpers. Heavy
imports (uvicorn, FastAPI, SQLAlchemy) happen inside the commands.
Signing in (`login`, `logout`, `whoami`) is a client's business: post001/cli/session.py.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from datetime import timedelta
from typing import Any
from uuid import UUID

import click

from post001.cli.app import State, db_option, json_option, pass_state, read_password
from post001.cli.output import dumps, emit
from post001.core.errors import DatabaseError, ValidationError

DB_HELP = "The server's database, as its owner (default: POST001_DATABASE_URL)."


def _database_url(state: State) -> str:
    from post001.core.config import default_database_url

    return state.db or state.settings().database_url or default_database_url()


def _done(state: State, text: str, data: Any) -> None:
    emit(state.json, data, lambda: click.echo(text))


# --- serve ------------------------------------------------------------------------------

#: What `pip install "post001[server]"` adds, by import name.
SERVER_MODULES = ("fastapi", "uvicorn", "argon2", "prometheus_client")


def require_server_extra(command: str) -> None:
    """The team server's dependencies are an extra: say which to install, not a
    traceback, when they are missing."""
    import importlib.util

    def absent(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is None
        except (ImportError, ValueError):  # a broken or half-removed install
            return True

    missing = [m for m in SERVER_MODULES if absent(m)]
    if missing:
        raise DatabaseError(
            f"`post001 {command}` needs the team server's packages ({', '.join(missing)} "
            "missing): install post001 with its server extra.",
            actions=['pip install "post001[server]"  (or: pipx install "post001[server]", '
                     'uv tool install "post001[server]")'])


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (each runs the scheduler; a due post is published once).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--log-format", default=None, type=click.Choice(["text", "json"]),
              help="Log lines as text or JSON lines (default: POST001_LOG_FORMAT, else text).")
@db_option("PostgreSQL URL (default: POST001_DATABASE_URL).")
@json_option
@pass_state
def serve_command(state: State, host: str, port: int, workers: int, log_level: str,
                  log_format: str | None) -> None:
    """Run the post001 API server (uvicorn) with its scheduler.

    Logs go to stderr, one line per event (with the request id); /metrics serves
    Prometheus text to loopback or to holders of POST001_SERVER_METRICS_TOKEN.
    """
    require_server_extra("serve")
    import atexit

    from post001.core.logs import FORMAT_ENV, LEVEL_ENV, configure_logging

    # Workers configure their own logging from these (they start as fresh processes).
    if log_format:
        os.environ[FORMAT_ENV] = log_format
    os.environ[LEVEL_ENV] = log_level.upper()
    configure_logging(log_format, log_level.upper())
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before anything imports prometheus-client in a worker: they share this folder
        # (one the operator named is emptied of an earlier run's samples).
        from post001.server.metrics import prepare_multiprocess_dir, remove_multiprocess_dir

        folder, made = prepare_multiprocess_dir()
        if made:
            atexit.register(remove_multiprocess_dir, folder)

    import uvicorn

    from post001.core.sql.schema import ensure_schema
    from post001.server.db import admin_engine
    from post001.server.http import uvicorn_options

    url = _database_url(state)
    if url.startswith("sqlite"):
        click.echo("warning: serving a SQLite database: no row-level security; use "
                   "PostgreSQL for a team server.", err=True)
    if not _is_loopback(host):
        click.echo(f"warning: listening on {host}; put TLS in front of it (tokens travel "
                   "in headers).", err=True)
    engine = admin_engine(url)
    try:
        ensure_schema(engine)  # once, before any worker starts
    except Exception as exc:
        raise DatabaseError(f"Cannot prepare the database: {exc}") from None
    finally:
        engine.dispose()
    if state.json:
        click.echo(dumps({"listening": f"http://{host}:{port}", "workers": workers}))
    if workers > 1:
        os.environ["POST001_DATABASE_URL"] = url
        uvicorn.run("post001.server.app:create_app_from_env", factory=True, host=host,
                    port=port, workers=workers, log_level=log_level, log_config=None,
                    access_log=False, **uvicorn_options())
    else:
        from post001.server.app import create_app

        # post001's own access log (post001.access) replaces uvicorn's.
        app = create_app(database_url=url, migrate=False, freeze_heap=True)
        uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None,
                    access_log=False, **uvicorn_options())


# --- server administration --------------------------------------------------------------


@click.group("server")
@db_option(DB_HELP)
@json_option
def server_group() -> None:
    """Administer a post001 server's accounts (connects to its database directly)."""
    require_server_extra("server")


def _admin(state: State) -> Any:
    from post001.core.sql.schema import ensure_schema
    from post001.server.db import admin_engine

    engine = admin_engine(_database_url(state))
    click.get_current_context().call_on_close(engine.dispose)
    try:
        ensure_schema(engine)
    except Exception as exc:
        raise DatabaseError(f"Cannot open the server database: {exc}") from None
    return engine


@server_group.group("user")
@db_option(DB_HELP)
@json_option
def user_admin() -> None:
    """Server users who can sign in."""


@user_admin.command("add")
@click.argument("username")
@click.option("--display-name", default="", help="Shown next to the username.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from stdin (the default when stdin is not a terminal).")
@db_option(DB_HELP)
@json_option
@pass_state
def user_add(state: State, username: str, display_name: str, password_stdin: bool) -> None:
    """Add USERNAME with a password (prompted for, or read from stdin)."""
    from post001.core.clock import utcnow
    from post001.server import auth

    engine = _admin(state)
    password = read_password(not password_stdin, confirm=True)
    user = auth.add_user(engine, username, password, now=utcnow(), display_name=display_name)
    _done(state, f"Added {user.username}; they can now run `post001 login URL --username "
          f"{user.username}`.", user.model_dump(mode="json"))


@user_admin.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@db_option(DB_HELP)
@json_option
@pass_state
def user_passwd(state: State, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME (signing out every session they have)."""
    from post001.core.clock import utcnow
    from post001.server import auth

    engine = _admin(state)
    password = read_password(not password_stdin, confirm=True)
    revoked = auth.set_password(engine, username, password, now=utcnow())
    _done(state, f"Password changed for {username}; {revoked} token(s) revoked.",
          {"username": username, "password": "changed", "tokens_revoked": revoked})


@server_group.group("token")
@db_option(DB_HELP)
@json_option
def token_admin() -> None:
    """API tokens: list, issue (for scripts), revoke."""


@token_admin.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@db_option(DB_HELP)
@json_option
@pass_state
def token_list(state: State, username: str | None) -> None:
    """Every token (never the token itself: only its hash is stored)."""
    from post001.server import auth

    rows = auth.admin_tokens(_admin(state), username)
    data = [{"id": str(r.id), "user": r.username, "name": r.name,
             "created_at": r.created_at.isoformat(),
             "expires_at": r.expires_at.isoformat() if r.expires_at else None,
             "revoked": r.revoked_at is not None} for r in rows]

    def human() -> None:
        if not data:
            click.echo("No tokens.")
        for d in data:
            status = "revoked" if d["revoked"] else f"expires {d['expires_at'] or 'never'}"
            click.echo(f"{d['id']}  {d['user']:<20} {d['name'] or '-':<24} {status}")

    emit(state.json, data, human)


@token_admin.command("issue")
@click.argument("username")
@click.option("--name", default="issued by admin", show_default=True)
@click.option("--days", default=90, show_default=True, type=click.IntRange(0, 3650),
              help="Expiry in days (0: never).")
@db_option(DB_HELP)
@json_option
@pass_state
def token_issue(state: State, username: str, name: str, days: int) -> None:
    """Print a new token for USERNAME (for a script or service account)."""
    from post001.core.clock import utcnow
    from post001.server import auth

    now = utcnow()
    expires_at = now + timedelta(days=days) if days else None
    token = auth.issue_token(_admin(state), username, now=now, name=name,
                             expires_at=expires_at)
    _done(state, token, {"user": username, "name": name, "token": token,
                         "expires_at": expires_at.isoformat() if expires_at else None})


@token_admin.command("revoke")
@click.argument("token_id", required=False)
@click.option("--user", "username", default=None, help="Revoke every token of this user.")
@click.option("--token-stdin", is_flag=True, help="Read the token itself from stdin.")
@db_option(DB_HELP)
@json_option
@pass_state
def token_revoke(state: State, token_id: str | None, username: str | None,
                 token_stdin: bool) -> None:
    """Revoke TOKEN_ID, every token of --user, or the token given on stdin."""
    from post001.core.clock import utcnow
    from post001.server import auth

    token = sys.stdin.readline().strip() if token_stdin else None
    try:
        tid = UUID(token_id) if token_id else None
    except ValueError:
        raise ValidationError(f"{token_id!r} is not a token id (see `post001 server token "
                              "list`).", field="token_id") from None
    count = auth.admin_revoke(_admin(state), now=utcnow(), token_id=tid, username=username,
                              token=token)
    _done(state, f"Revoked {count} token(s).", {"revoked": count})
