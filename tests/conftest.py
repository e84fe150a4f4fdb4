"""Shared fixtures: real SQLite files, a real PostgreSQL, fresh databases per test.

PostgreSQL comes from POST001_TEST_PG_URL (default: the local trust-auth server). Where
it cannot be reached the PostgreSQL tests skip with the reason, except when
POST001_REQUIRE_PG=1 (set by .ci/run): then they fail, so CI cannot pass without them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

PG_URL = os.environ.get("POST001_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("POST001_REQUIRE_PG") == "1"


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never touch the developer's real data, config or environment flags."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("POST001_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("POST001_CONFIG", str(home / "config.toml"))
    for name in ("POST001_DATABASE_URL", "POST001_SERVER_URL", "POST001_USER", "POST001_TOKEN",
                 "ENABLE_MULTI_COLLECTIVE", "ENABLE_ENHANCED_EDITOR", "ENABLE_VALIDATION",
                 "ROLLOUT_PERCENTAGE"):
        monkeypatch.delenv(name, raising=False)


class FakeClock:
    """A settable clock: tests move time instead of sleeping.

    Each reading ticks one millisecond, like a real clock between two transactions,
    so "newest first" orderings are well defined; tests move it further by hand."""

    TICK = timedelta(milliseconds=1)

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += self.TICK
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def use_keyring() -> Iterator[Any]:
    """`use_keyring(backend)` makes `backend` the keyring for this test and returns it
    (tests/keyring_support.py has MemoryKeyring); the real one is back afterwards."""
    from keyring_support import installed_keyrings

    yield from installed_keyrings()


def _pg_admin_engine() -> sa.Engine | None:
    from post001.core.sql.engine import make_engine

    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:
        engine.dispose()
        return None
    return engine


def _with_db(url: str, name: str) -> str:
    return str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = _pg_admin_engine()
    if engine is None:
        message = f"PostgreSQL not reachable at {PG_URL} (set POST001_TEST_PG_URL)"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: sa.Engine) -> Iterator[str]:
    """One migrated database per test session; tests get cheap copies of it."""
    from post001.core.sql.engine import make_engine
    from post001.core.sql.schema import ensure_schema

    name = f"post001_tpl_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_with_db(PG_URL, name))
    ensure_schema(engine)
    engine.dispose()
    yield name
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_empty_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (for migration tests)."""
    name = f"post001_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _with_db(PG_URL, name)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_admin: sa.Engine, pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database."""
    name = f"post001_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _with_db(PG_URL, name)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; tests get copies (migrating costs ~0.5 s)."""
    from post001.core.sql.engine import make_engine
    from post001.core.sql.schema import ensure_schema

    path = tmp_path_factory.mktemp("template") / "post001.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()  # the last close checkpoints the WAL into the main file
    return path


@pytest.fixture
def sqlite_empty_url(tmp_path: Path) -> str:
    """A path where no database exists yet."""
    return f"sqlite:///{tmp_path}/empty.db"


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated SQLite database file."""
    target = tmp_path / "post001.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every SQL backend: the same tests run on each."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


StoreFactory = Callable[..., "object"]


@pytest.fixture
def open_store(db_url: str, clock: FakeClock) -> Iterator[Callable[..., object]]:
    """open_store("alice") -> a Store acting as alice on this test's database."""
    import post001

    opened: list[object] = []

    def factory(username: str, **kwargs: object) -> object:
        store = post001.connect(db_url, user=username, clock=clock, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()  # type: ignore[attr-defined]
