"""Bring a database to the current schema, cheaply when it already is.

Start-up checks one row (`alembic_version`) against the head revision this code was
written for; Alembic is imported only when an upgrade is really needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

# The newest migration in migrations/versions, declared in post001/core/sql/head.py (which
# imports nothing, for the CLI's lean listing); re-exported.
from post001.core.sql.head import HEAD_REVISION as HEAD_REVISION

#: Full-text search objects made by raw SQL in 0004_search, absent from tables.metadata:
#: autogenerate must neither propose dropping them nor try to reflect SQLite's FTS tables.
SEARCH_TABLE_PREFIX = "posts_fts"
SEARCH_COLUMN = ("posts", "search_vector")
SEARCH_INDEX = "ix_posts_search"
#: The server's credential tables (0006_auth_rls, declared in post001/server/auth.py)
#: and its sign-in throttle (0013_server_defence, post001/server/throttle.py):
#: the headless core's metadata does not know them.
SERVER_TABLES = frozenset({"user_passwords", "api_tokens", "signin_throttle"})


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


@contextmanager
def _migrating(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in one transaction, ready for Alembic."""
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild tables; with foreign keys on, SQLite would cascade
            # the drop of the old table into its children. The pragma only works
            # outside a transaction, so it goes to the driver before anything begins.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                yield conn
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
        command.upgrade(cfg, revision)  # type: ignore[arg-type]


#: Set on the Alembic config when the operator accepted losing data (`--force`): a
#: migration's downgrade() that would otherwise refuse then drops what it cannot keep.
FORCE_ATTRIBUTE = "post001_force_data_loss"


def forced(context: object) -> bool:
    """Inside a migration: whether `post001 db downgrade --force` is running it."""
    config = getattr(context, "config", None)
    attributes = getattr(config, "attributes", None) or {}
    return bool(attributes.get(FORCE_ATTRIBUTE))


def count_losses(conn: sa.Connection, checks: Iterable[tuple[str, str]]) -> list[str]:
    """For migrations' `downgrade_would_lose`: each (SQL that counts rows, description
    with {n}) whose count is not zero, in words."""
    found = []
    for sql, words in checks:
        n = int(conn.execute(sa.text(sql)).scalar() or 0)
        if n:
            found.append(words.format(n=f"{n:,}", s="" if n == 1 else "s"))
    return found


@dataclass(frozen=True, slots=True)
class DowngradeStep:
    """One migration undone: its revision, what it was for, what undoing it drops."""

    revision: str
    message: str
    losses: list[str] = field(default_factory=list)


def downgrade_plan(engine: sa.Engine, target: str) -> list[DowngradeStep]:
    """The steps from the current revision down to `target` (newest first), each with
    what its downgrade would drop given the data in the database now.

    Raises ValueError for a target that is not a revision below the current one."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())  # type: ignore[arg-type]
    current = current_revision(engine)
    known = [rev for rev, _, _ in history()]
    if target != "base" and target not in known:
        raise ValueError(f"{target!r} is not a revision; known: base, {', '.join(known)}")
    if current is None:
        raise ValueError("the database has no schema revision yet: nothing to downgrade")
    if current not in known:
        raise ValueError(f"the database is at {current!r}, a revision this version of "
                         "post001 does not know (a newer post001 made it)")
    order = list(reversed(known))  # oldest first
    if target != "base" and order.index(target) > order.index(current):
        raise ValueError(f"{target!r} is newer than the database's revision {current!r}; "
                         "use `post001 db upgrade` to go forward")
    steps: list[DowngradeStep] = []
    with engine.connect() as conn:
        for script in scripts.iterate_revisions(current, target):
            if script.revision == target:
                continue
            would_lose = getattr(script.module, "downgrade_would_lose", None)
            if would_lose is None:
                raise RuntimeError(f"migration {script.revision} does not say what its "
                                   "downgrade would lose (downgrade_would_lose)")
            steps.append(DowngradeStep(script.revision, script.doc or "",
                                       list(would_lose(conn))))
    return steps


def downgrade(engine: sa.Engine, target: str, *, force: bool = False) -> None:
    """Run the downgrade (callers check `downgrade_plan` first)."""
    from alembic import command

    cfg = alembic_config()
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn  # type: ignore[attr-defined]
        cfg.attributes[FORCE_ATTRIBUTE] = force  # type: ignore[attr-defined]
        command.downgrade(cfg, target)  # type: ignore[arg-type]


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
