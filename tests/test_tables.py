"""The schema module: one declaration, the right JSON type per database, cheap to import."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from post001.core.sql import tables

JSON_COLUMNS = [(tables.posts, "metadata"), (tables.shares, "metadata"),
                (tables.audit, "old_values"), (tables.audit, "new_values"),
                (tables.idempotency, "response")]


def _ddl(table: sa.Table, dialect: sa.Dialect) -> str:
    return str(CreateTable(table).compile(dialect=dialect))


def test_json_columns_are_jsonb_on_postgresql_and_json_on_sqlite() -> None:
    for table, column in JSON_COLUMNS:
        assert f"{column} JSONB" in _ddl(table, postgresql.dialect()), (table.name, column)
        assert f"{column} JSON" in _ddl(table, sqlite.dialect()), (table.name, column)
        assert "JSONB" not in _ddl(table, sqlite.dialect())


def test_importing_the_tables_loads_no_orm() -> None:
    probe = ("import json, sys\nimport post001.core.sql.tables\n"
             "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.startswith(("sqlalchemy.orm", "sqlmodel"))] == []
    # Nor PostgreSQL's dialect: a SQLite command never needs it.
    assert [m for m in loaded if m.startswith("sqlalchemy.dialects.postgresql")] == []


def test_the_owner_index_is_partial_on_both_databases() -> None:
    from sqlalchemy.schema import CreateIndex

    index = next(i for i in tables.with_postgresql_options().tables[
        "collective_members"].indexes if i.name == "uq_collective_members_one_owner")
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        ddl = str(CreateIndex(index).compile(dialect=dialect))
        assert ddl.startswith("CREATE UNIQUE INDEX") and ddl.endswith("WHERE role = 'owner'")
