"""`post001 db ...` and `post001 locate`: where things live and the database schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from post001.cli.app import State, global_options, pass_state
from post001.cli.output import emit, redact_url, table

if TYPE_CHECKING:
    import sqlalchemy as sa


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


@contextlib.contextmanager
def existing_database(state: State) -> Iterator[sa.Engine]:
    """An engine on the --db database, for the operator commands that read or change
    what is already there (db downgrade, stats, flags --user, rollout preview); disposed
    afterwards. A server URL is refused, and so is a SQLite file that does not exist:
    opening it would create an empty database and the command would report on nothing."""
    from post001.core.errors import ValidationError
    from post001.core.sql.engine import make_engine

    url = _database_url(state)
    if _sqlite_file_missing(url):
        raise ValidationError(f"There is no database at {redact_url(url)}.", field="db")
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


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
                       f"{revision} (going back is `post001 db downgrade {revision}`).")
        elif before == after:
            click.echo(f"{where} is already at revision {after}.")
        else:
            click.echo(f"Upgraded {where} from {before or 'an empty database'} to {after}.")

    emit(state.json, {"database_url": where, "from": before, "to": after}, human)


@db_group.command("downgrade", short_help="Undo migrations down to REVISION (refuses to "
                  "drop data unless --force).")
@click.argument("revision")
@click.option("--force", is_flag=True,
              help="Go ahead even though the downgrade drops the data it lists.")
@global_options
@pass_state
def db_downgrade(state: State, revision: str, force: bool) -> None:
    """Undo the migrations above REVISION (`base` undoes them all).

    Every step says what its downgrade would drop given the data in the database now;
    when any step would drop something, nothing runs unless --force is given, and the
    refusal lists every step's losses. Take a backup first (`post001 db backup`).

    \b
    Examples:
      post001 db downgrade 0007_one_owner
      post001 --db postgresql://me@localhost/post001 db downgrade 0001_legacy --force
    """
    from post001.core.errors import ValidationError
    from post001.core.sql.schema import current_revision, downgrade, downgrade_plan

    where = redact_url(_database_url(state))
    with existing_database(state) as engine:
        try:
            steps = downgrade_plan(engine, revision)
        except ValueError as exc:
            raise ValidationError(
                f"Cannot downgrade to {revision!r}: {exc}.", field="revision",
                actions=["See the revisions with `post001 db history`."]) from None
        before = current_revision(engine)
        losing = [s for s in steps if s.losses]
        plan = [{"revision": s.revision, "message": s.message, "would_lose": s.losses}
                for s in steps]
        if losing and not force:
            lines = "; ".join(f"{s.revision}: {', '.join(s.losses)}" for s in losing)
            raise ValidationError(
                f"Downgrading {where} from {before} to {revision} would drop data: {lines}.",
                field="revision",
                details={"steps": plan},
                actions=["Back up first: `post001 db backup --out FILE`.",
                         "Then run the downgrade again with --force to drop it."])
        if steps:
            downgrade(engine, revision, force=force)
        after = current_revision(engine)

    def human() -> None:
        if not steps:
            click.echo(f"{where} is already at {revision}.")
            return
        click.echo(f"Downgraded {where} from {before} to {after or 'an empty database'}.")
        for step in losing:
            click.echo(f"  {step.revision} dropped: {', '.join(step.losses)}")

    emit(state.json, {"database_url": where, "from": before, "to": after, "forced": force,
                      "steps": plan}, human)


_PG_BIN_HELP = ("Folder with pg_dump, pg_restore and psql (default: POST001_PG_BIN, else "
                "the server's major version under /usr/lib/postgresql, else PATH).")


@db_group.command("backup", short_help="Back up the database to a file (safe while in use).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The backup file; its manifest goes beside it as FILE.manifest.json.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--pg-bin", default=None, metavar="DIR", help=_PG_BIN_HELP)
@global_options
@pass_state
def db_backup(state: State, out: Path, force: bool, pg_bin: str | None) -> None:
    """Back up the database to FILE, with a manifest (schema revision, row counts,
    SHA-256) beside it. Both files are private (0600).

    SQLite uses its online backup API: writers carry on and the copy is consistent.
    PostgreSQL uses pg_dump's custom format (checked with pg_restore --list), from the
    same snapshot the row counts are taken in.

    \b
    Examples:
      post001 db backup --out post001-$(date +%Y%m%d-%H%M).db
      post001 --db postgresql://me@localhost/post001 db backup --out post001.dump
    """
    from post001.core.backup import backup

    url = _database_url(state)
    result = backup(url, out, overwrite=force, pg_bin=pg_bin)
    result["database_url"] = redact_url(url)

    def human() -> None:
        rows = sum(result["tables"].values())
        click.echo(f"Backed up {result['database_url']} (revision {result['revision']}, "
                   f"{rows:,} rows in {len(result['tables'])} tables) to {result['path']} "
                   f"in {result['seconds']:.1f} s.")
        click.echo(f"Manifest: {result['manifest']}")

    emit(state.json, result, human)


@db_group.command("restore", short_help="Restore a backup (refuses to replace data "
                  "unless --force).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@click.option("--pg-bin", default=None, metavar="DIR", help=_PG_BIN_HELP)
@global_options
@pass_state
def db_restore(state: State, file: Path, force: bool, pg_bin: str | None) -> None:
    """Restore FILE (made by `post001 db backup`) into the database.

    Checks the file against its manifest first (checksum, a schema revision this
    post001 knows), refuses to replace a database holding data unless --force, and
    afterwards verifies every table's row count and the revision. On PostgreSQL the
    whole restore is one transaction: if anything fails, nothing changed. Stop the
    server first.

    \b
    Examples:
      post001 --db sqlite:///restored.db db restore post001-20260105.db
      post001 --db postgresql://me@localhost/post001 db restore post001.dump --force
    """
    from post001.core.backup import restore

    url = _database_url(state)
    result = restore(url, file, force=force, pg_bin=pg_bin)
    result["database_url"] = redact_url(url)

    def human() -> None:
        rows = sum(result["tables"].values())
        click.echo(f"Restored {result['file']} into {result['database_url']} "
                   f"(revision {result['revision']}, {rows:,} rows in "
                   f"{len(result['tables'])} tables; counts verified) in "
                   f"{result['seconds']:.1f} s.")
        from post001.core.sql.schema import HEAD_REVISION

        if result["revision"] != HEAD_REVISION:
            click.echo(f"The schema is older than this post001 ({HEAD_REVISION}): run "
                       "`post001 db upgrade` before serving it.")

    emit(state.json, result, human)


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
