"""Bring a database to the current schema, cheaply when it already is.

Start-up checks one row (`alembic_version`) against the head revision this code was
written for; Alembic is imported only when an upgrade is really needed.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

#: The newest migration in migrations/versions. A test keeps it equal to Alembic's head.
HEAD_REVISION = "0010_server_hardening"


#: Full-text search objects made by raw SQL in 0004_search, absent from tables.metadata:
#: autogenerate must neither propose dropping them nor try to reflect SQLite's FTS tables.
SEARCH_TABLE_PREFIX = "posts_fts"
SEARCH_COLUMN = ("posts", "search_vector")
SEARCH_INDEX = "ix_posts_search"
#: The server's credential tables (0006_auth_rls), declared in post001/server/auth.py:
#: the headless core's metadata does not know them.
SERVER_TABLES = frozenset({"user_passwords", "api_tokens"})


def include_name(name: str | None, type_: str, parent_names: dict[str, str | None]) -> bool:
    """Alembic `include_name` hook: leave the search objects and the server's credential
    tables out of schema comparisons."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE_PREFIX) and name not in SERVER_TABLES
    if type_ == "column":
        return (parent_names.get("table_name"), name) != SEARCH_COLUMN
    if type_ == "index":
        return name != SEARCH_INDEX
    return True


def migrations_dir() -> Path:
    """Installed wheels carry the scripts inside the package; a checkout has them at the root."""
    here = Path(__file__).resolve().parent.parent.parent  # post001/
    for candidate in (here / "_migrations", here.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("post001's migrations folder is missing from this installation")


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(url: str | None = None) -> object:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild tables; with foreign keys on, SQLite would cascade
            # the drop of the old table into its children. The pragma only works
            # outside a transaction, so it goes to the driver before anything begins.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
                command.upgrade(cfg, revision)  # type: ignore[arg-type]
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def history() -> list[tuple[str, str | None, str]]:
    """(revision, down_revision, message), newest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    return [
        (s.revision, s.down_revision if isinstance(s.down_revision, str) else None, s.doc or "")
        for s in scripts.walk_revisions()
    ]


def ensure_schema(engine: sa.Engine) -> None:
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
