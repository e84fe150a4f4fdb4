"""`post001 db ...` and `post001 locate`: where things live and the database schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from post001.cli.app import State, global_options, pass_state
from post001.cli.output import emit, redact_url, table


@click.group("db")
def db_group() -> None:
    """Create or upgrade the database schema (SQLite or PostgreSQL).

    The embedded SQLite database is created and migrated automatically on first use;
    these commands are for other databases and for upgrading on purpose.
    """


def _database_url(state: State) -> str:
    from post001.core.errors import ValidationError

    url = state.url()
    if url.startswith(("http://", "https://")):
        raise ValidationError(
            f"{redact_url(url)} is a post001 server, not a database; its administrator "
            "upgrades it. Pass a sqlite:/// or postgresql:// URL with --db.",
            field="db",
            actions=["Run the command with --db sqlite:///PATH or --db postgresql://..."],
        )
    return url


def _sqlite_file_missing(url: str) -> bool:
    from sqlalchemy.engine import make_url

    from post001.core.sql.engine import normalize_url

    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return database not in ("", ":memory:") and not Path(database).expanduser().exists()


@db_group.command("upgrade")
@click.argument("revision", default="head")
@global_options
@pass_state
def db_upgrade(state: State, revision: str) -> None:
    """Upgrade the database to REVISION (default: head, the newest).

    Works on an empty database too: it creates every table. Safe to run again.

    \b
    Examples:
      post001 db upgrade
      post001 --db postgresql://me@localhost/post001 db upgrade
    """
    from alembic.util.exc import CommandError

    from post001.core.errors import ValidationError
    from post001.core.sql.engine import make_engine
    from post001.core.sql.schema import current_revision, upgrade

    url = _database_url(state)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        try:
            upgrade(engine, revision)
        except CommandError as exc:
            raise ValidationError(
                f"Cannot upgrade to {revision!r}: {exc}",
                field="revision",
                actions=["See the revisions with `post001 db history`; the default is head."],
            ) from None
        after = current_revision(engine)
    finally:
        engine.dispose()
    where = redact_url(url)

    def human() -> None:
        if before == after and revision not in ("head", after):
            click.echo(f"Nothing to do: {where} is at {after}, which already includes "
                       f"{revision} (post001 does not downgrade).")
        elif before == after:
            click.echo(f"{where} is already at revision {after}.")
        else:
            click.echo(f"Upgraded {where} from {before or 'an empty database'} to {after}.")

    emit(state.json, {"database_url": where, "from": before, "to": after}, human)


@db_group.command("history", short_help="List schema revisions, marking the current one.")
@global_options
@pass_state
def db_history(state: State) -> None:
    """List the schema revisions, newest first, marking the database's current one."""
    from post001.core.sql.schema import history

    url = _database_url(state)
    current: str | None = None
    if not _sqlite_file_missing(url):
        from post001.core.sql.engine import make_engine
        from post001.core.sql.schema import current_revision

        engine = make_engine(url)
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
    revisions = [
        {"revision": rev, "down_revision": down, "message": message, "current": rev == current}
        for rev, down, message in history()
    ]

    def human() -> None:
        table(
            ["", "revision", "follows", "message"],
            (
                ["*" if r["current"] else "", r["revision"], r["down_revision"] or "-",
                 r["message"]]
                for r in revisions
            ),
            empty="No migrations found.",
        )
        click.echo(f"\n{redact_url(url)} is at {current or 'no revision (empty)'}.")

    emit(state.json, {"database_url": redact_url(url), "current": current,
                      "revisions": revisions}, human)


@click.command("locate", short_help="Print where config, data and database live.")
@global_options
@pass_state
def locate(state: State) -> None:
    """Print where post001 keeps its config file, its data and its database.

    Set POST001_CONFIG, POST001_DATA_DIR or POST001_DATABASE_URL to move them.
    """
    from post001.core.config import config_path, data_dir
    from post001.core.errors import Post001Error

    info: dict[str, Any] = {
        "config_file": str(config_path()),
        "config_file_exists": config_path().exists(),
        "data_dir": str(data_dir()),
    }
    try:
        info["database_url"] = redact_url(state.url())
        info["user"] = state.username()
    except Post001Error as exc:  # a broken config file: still say where it is
        info.update(database_url=None, user=None, config_error=exc.message)

    def human() -> None:
        exists = "" if info["config_file_exists"] else "  (not created yet)"
        click.echo(f"config file:  {info['config_file']}{exists}")
        click.echo(f"data dir:     {info['data_dir']}")
        if "config_error" in info:
            click.echo(f"config error: {info['config_error']}")
            return
        click.echo(f"database:     {info['database_url']}")
        click.echo(f"acting user:  {info['user']}")

    emit(state.json, info, human)
