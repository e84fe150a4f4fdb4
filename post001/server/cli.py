"""Click commands for the server side and for signing in to a server.

Mounted on the main `post001` group by the CLI (post001/cli/main.py):
`serve`, `server user add|passwd`, `server token list|issue|revoke`, `login`, `logout`,
`whoami`. Heavy imports (uvicorn, FastAPI, SQLAlchemy) happen inside the commands.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import sys
from datetime import timedelta
from typing import Any, NoReturn
from uuid import UUID

import click

from post001.core.errors import Post001Error, ValidationError

JSON_KEY = "post001.server.json"


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[JSON_KEY] = True


#: Every command here takes --json, like the rest of the CLI: machine output on stdout,
#: errors as {"error": {...}} on stderr.
json_option = click.option("--json", "json_output", is_flag=True, expose_value=False,
                           is_eager=True, callback=_set_json,
                           help="Print JSON on stdout (errors as JSON on stderr).")


def _json_mode() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.find_root().meta.get(JSON_KEY))


def _done(text: str, data: Any) -> None:
    click.echo(json.dumps(data, indent=2) if _json_mode() else text)


def _fail(err: Post001Error) -> NoReturn:
    from post001.cli.app import Post001CliError

    raise Post001CliError(err, json_mode=_json_mode())


def _database_url(db: str | None) -> str:
    from post001.core.config import Settings, default_database_url

    return db or Settings().database_url or default_database_url()


def _server_url(url: str | None) -> str:
    from post001.core.config import Settings

    url = url or Settings().server_url
    if not url:
        raise click.UsageError("Which server? Pass its URL or set POST001_SERVER_URL.")
    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"{url!r} is not an http:// or https:// URL.")
    return url


def _read_password(prompt: bool, confirm: bool) -> str:
    """From a hidden prompt on a terminal, else the first line of stdin."""
    if prompt and sys.stdin.isatty():
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
        return value
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError("No password on stdin.")
    return line.rstrip("\r\n")


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
        from post001.core.errors import DatabaseError

        _fail(DatabaseError(
            f"`post001 {command}` needs the team server's packages ({', '.join(missing)} "
            "missing): install post001 with its server extra.",
            actions=['pip install "post001[server]"  (or: pipx install "post001[server]", '
                     'uv tool install "post001[server]")']))


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
@click.option("--db", "db", default=None, metavar="URL",
              help="PostgreSQL URL (default: POST001_DATABASE_URL).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--log-format", default=None, type=click.Choice(["text", "json"]),
              help="Log lines as text or JSON lines (default: POST001_LOG_FORMAT, else text).")
@json_option
def serve_command(host: str, port: int, workers: int, db: str | None, log_level: str,
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

    url = _database_url(db)
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
        from post001.core.errors import DatabaseError

        _fail(DatabaseError(f"Cannot prepare the database: {exc}"))
    finally:
        engine.dispose()
    if _json_mode():
        click.echo(json.dumps({"listening": f"http://{host}:{port}", "workers": workers}))
    if workers > 1:
        os.environ["POST001_DATABASE_URL"] = url
        uvicorn.run("post001.server.app:create_app_from_env", factory=True, host=host,
                    port=port, workers=workers, log_level=log_level, log_config=None,
                    access_log=False)
    else:
        from post001.server.app import create_app

        # post001's own access log (post001.access) replaces uvicorn's.
        uvicorn.run(create_app(database_url=url, migrate=False), host=host, port=port,
                    log_level=log_level, log_config=None, access_log=False)


# --- server administration --------------------------------------------------------------


@click.group("server")
@click.option("--db", "db", default=None, metavar="URL",
              help="The server's database, as its owner (default: POST001_DATABASE_URL).")
@json_option
@click.pass_context
def server_group(ctx: click.Context, db: str | None) -> None:
    """Administer a post001 server's accounts (connects to its database directly)."""
    require_server_extra("server")
    ctx.ensure_object(dict)["db"] = db


def _admin(ctx: click.Context) -> Any:
    from post001.core.sql.schema import ensure_schema
    from post001.server.db import admin_engine

    options = ctx.find_object(dict) or {}
    engine = admin_engine(_database_url(options.get("db")))
    ctx.call_on_close(engine.dispose)
    try:
        ensure_schema(engine)
    except Exception as exc:
        from post001.core.errors import DatabaseError

        _fail(DatabaseError(f"Cannot open the server database: {exc}"))
    return engine


@server_group.group("user")
@json_option
def user_admin() -> None:
    """Server users who can sign in."""


@user_admin.command("add")
@click.argument("username")
@click.option("--display-name", default="", help="Shown next to the username.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from stdin (the default when stdin is not a terminal).")
@json_option
@click.pass_context
def user_add(ctx: click.Context, username: str, display_name: str, password_stdin: bool
             ) -> None:
    """Add USERNAME with a password (prompted for, or read from stdin)."""
    from post001.core.clock import utcnow
    from post001.server import auth

    engine = _admin(ctx)
    password = _read_password(not password_stdin, confirm=True)
    try:
        user = auth.add_user(engine, username, password, now=utcnow(),
                             display_name=display_name)
    except Post001Error as err:
        _fail(err)
    _done(f"Added {user.username}; they can now run `post001 login URL --username "
          f"{user.username}`.", user.model_dump(mode="json"))


@user_admin.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@json_option
@click.pass_context
def user_passwd(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set a new password for USERNAME."""
    from post001.core.clock import utcnow
    from post001.server import auth

    engine = _admin(ctx)
    password = _read_password(not password_stdin, confirm=True)
    try:
        auth.set_password(engine, username, password, now=utcnow())
    except Post001Error as err:
        _fail(err)
    _done(f"Password changed for {username}.", {"username": username, "password": "changed"})


@server_group.group("token")
@json_option
def token_admin() -> None:
    """API tokens: list, issue (for scripts), revoke."""


@token_admin.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@json_option
@click.pass_context
def token_list(ctx: click.Context, username: str | None) -> None:
    """Every token (never the token itself: only its hash is stored)."""
    from post001.server import auth

    rows = auth.admin_tokens(_admin(ctx), username)
    data = [{"id": str(r.id), "user": r.username, "name": r.name,
             "created_at": r.created_at.isoformat(),
             "expires_at": r.expires_at.isoformat() if r.expires_at else None,
             "revoked": r.revoked_at is not None} for r in rows]
    if _json_mode():
        click.echo(json.dumps(data, indent=2))
        return
    if not data:
        click.echo("No tokens.")
    for d in data:
        state = "revoked" if d["revoked"] else f"expires {d['expires_at'] or 'never'}"
        click.echo(f"{d['id']}  {d['user']:<20} {d['name'] or '-':<24} {state}")


@token_admin.command("issue")
@click.argument("username")
@click.option("--name", default="issued by admin", show_default=True)
@click.option("--days", default=90, show_default=True, type=click.IntRange(0, 3650),
              help="Expiry in days (0: never).")
@json_option
@click.pass_context
def token_issue(ctx: click.Context, username: str, name: str, days: int) -> None:
    """Print a new token for USERNAME (for a script or service account)."""
    from post001.core.clock import utcnow
    from post001.server import auth

    now = utcnow()
    try:
        token = auth.issue_token(_admin(ctx), username, now=now, name=name,
                                 expires_at=now + timedelta(days=days) if days else None)
    except Post001Error as err:
        _fail(err)
    _done(token, {"user": username, "name": name, "token": token,
                  "expires_at": (now + timedelta(days=days)).isoformat() if days else None})


@token_admin.command("revoke")
@click.argument("token_id", required=False)
@click.option("--user", "username", default=None, help="Revoke every token of this user.")
@click.option("--token-stdin", is_flag=True, help="Read the token itself from stdin.")
@json_option
@click.pass_context
def token_revoke(ctx: click.Context, token_id: str | None, username: str | None,
                 token_stdin: bool) -> None:
    """Revoke TOKEN_ID, every token of --user, or the token given on stdin."""
    from post001.core.clock import utcnow
    from post001.server import auth

    token = sys.stdin.readline().strip() if token_stdin else None
    try:
        tid = UUID(token_id) if token_id else None
    except ValueError:
        _fail(ValidationError(f"{token_id!r} is not a token id (see `post001 server token "
                              "list`).", field="token_id"))
    try:
        count = auth.admin_revoke(_admin(ctx), now=utcnow(), token_id=tid,
                                  username=username, token=token)
    except Post001Error as err:
        _fail(err)
    _done(f"Revoked {count} token(s).", {"revoked": count})


# --- signing in -------------------------------------------------------------------------

_token_file_option = click.option(
    "--token-file", type=click.Path(dir_okay=False), default=None,
    help="Keep the token in this file (created with 0600 permissions) instead of the OS "
         "keyring.")


@click.command("login")
@click.argument("url")
@click.option("--username", default=None, help="Default: your operating-system user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@_token_file_option
@json_option
def login_command(url: str, username: str | None, password_stdin: bool,
                  token_file: str | None) -> None:
    """Sign in to the server at URL and keep the token in the OS keyring."""
    from post001.core import credentials
    from post001.core.api import default_username
    from post001.core.remote import request_token

    url = credentials.normalize_server_url(_server_url(url))
    if token_file is None:
        try:  # before asking for a password: say now if the token cannot be kept
            credentials.keyring_get(url)
        except credentials.KeyringUnavailable as err:
            _fail(err)
    username = username or default_username()
    password = _read_password(not password_stdin, confirm=False)
    try:
        issued = request_token(url, username, password,
                               name=f"post001 login on {socket.gethostname()}"[:100])
        token = str(issued["token"])
        if token_file is not None:
            path = credentials.write_token_file(token_file, token)
            where = f"{path} (0600); use --token-file {path} or POST001_TOKEN"
        else:
            credentials.keyring_set(url, token)
            where = "the OS keyring"
    except Post001Error as err:
        _fail(err)
    _done(f"Signed in to {url} as {username}; the token is in {where}.\n"
          f"Use this server with --server {url} or POST001_SERVER_URL={url}.",
          {"server": url, "username": username,
           "token_store": "file" if token_file is not None else "keyring"})


@click.command("logout")
@click.argument("url", required=False)
@_token_file_option
@json_option
def logout_command(url: str | None, token_file: str | None) -> None:
    """Revoke this machine's token for the server and forget it."""
    from post001.core import credentials
    from post001.core.remote import RemoteStore

    url = credentials.normalize_server_url(_server_url(url))
    try:
        token = credentials.resolve_token(url, token_file=token_file)
    except Post001Error as err:
        _fail(err)
    if token:
        store = RemoteStore(url, token=token, retries=0)
        try:
            store.revoke_current_token()
        except Post001Error as err:
            click.echo(f"note: the server did not revoke the token ({err.message}).",
                       err=True)
        finally:
            store.close()
    removed = False
    with contextlib.suppress(credentials.KeyringUnavailable):
        removed = credentials.keyring_delete(url)
    if token_file and os.path.exists(token_file):
        os.remove(token_file)
        removed = True
    signed_out = bool(token or removed)
    _done(f"Signed out of {url}." if signed_out else f"Not signed in to {url}.",
          {"server": url, "signed_out": signed_out})


@click.command("whoami")
@click.argument("url", required=False)
@_token_file_option
@json_option
def whoami_command(url: str | None, token_file: str | None) -> None:
    """Show who you are signed in as on the server."""
    from post001.core import credentials
    from post001.core.remote import RemoteStore

    url = credentials.normalize_server_url(_server_url(url))
    try:
        token = credentials.resolve_token(url, token_file=token_file)
        if not token:
            raise credentials.missing_token_error(url)
        store = RemoteStore(url, token=token)
        try:
            me = store.me()
        finally:
            store.close()
    except Post001Error as err:
        _fail(err)
    _done(f"{me.username} on {url}", {"server": url, **me.model_dump(mode="json")})
