"""SQLAlchemy statements compiled once per dialect and run on the driver's cursor.

The publish path (publish.py) runs a handful of small statements per call, and on a
fast disk SQLAlchemy's per-statement work (cache lookup, execution context, result
metadata, row processing) costs about as much as the statements themselves
(benchmarks/bench_store.py holds publishing to 2x raw SQL). Like the auto-save path
(drafts.py) and the listing (listing.py), these statements go straight to the driver,
on the transaction's own connection, so nothing about transactions, row-level
security or savepoints changes. What stays the same as SQLAlchemy's own execution:

- the SQL text is SQLAlchemy's compilation of the same statement objects;
- every value goes through its column type's bind processor, every fetched value
  through its result processor, so rows read and written are byte-for-byte the same;
- the engine's `before_cursor_execute` / `after_cursor_execute` listeners see each
  statement (tests count statements with them);
- driver errors become SQLAlchemy's exceptions through the connection's own handler,
  which also invalidates a connection that died.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any] | None
_MISSING = object()


class Prepared:
    """One compiled statement: its text, how to build its parameters, how to read its
    rows."""

    __slots__ = ("binds", "positional", "results", "row", "sql")

    def __init__(self, statement: sa.Executable, dialect: sa.Dialect,
                 column_keys: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect,  # type: ignore[attr-defined]
                                     column_keys=list(column_keys or ()) or None)
        assert not compiled.literal_execute_params and not compiled.post_compile_params, (
            "expanding parameters are not supported here")
        self.sql: str = compiled.string
        names = list(compiled.positiontup or ()) if compiled.positional else list(
            compiled.binds)
        self.positional: bool = bool(compiled.positional)
        assert not compiled.escaped_bind_names
        processors = compiled._bind_processors
        # (parameter name in the text, key in the caller's values, processor, and the
        # value a literal in the statement carries, used when the caller gives none)
        self.binds: list[tuple[str, str, Processor, Any]] = []
        for name in names:
            bind = compiled.binds[name]
            assert bind.callable is None
            self.binds.append((name, bind.key, processors.get(name),
                               _MISSING if bind.required else bind.value))
        entries = compiled._result_columns
        self.results: list[Processor] = [
            entry[3]._cached_result_processor(dialect, None) for entry in entries]
        self.row: Any = namedtuple("Row", [entry[0] for entry in entries])  # type: ignore[misc]

    def params(self, values: dict[str, Any]) -> Any:
        out = []
        for _name, key, process, literal in self.binds:
            value = values.get(key, literal)
            if value is _MISSING:
                raise KeyError(f"no value for the parameter {key!r}")
            out.append(process(value) if process is not None else value)
        if self.positional:
            return out
        return {bind[0]: value for bind, value in zip(self.binds, out, strict=True)}


class Statements:
    """Prepared statements of one dialect, shared by every store on it (the server makes
    a store per request)."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self._dialect = dialect
        self._prepared: dict[Any, Prepared] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, statement: sa.Executable,
            column_keys: Sequence[str] | None = None) -> Prepared:
        found = self._prepared.get(key)
        if found is None:
            with self._lock:
                found = self._prepared.setdefault(
                    key, Prepared(statement, self._dialect, column_keys))
        return found


_BY_DIALECT: dict[str, Statements] = {}
_BY_DIALECT_LOCK = threading.Lock()


def statements(dialect: sa.Dialect) -> Statements:
    key = f"{dialect.name}/{dialect.driver}"
    found = _BY_DIALECT.get(key)
    if found is None:
        with _BY_DIALECT_LOCK:
            found = _BY_DIALECT.setdefault(key, Statements(dialect))
    return found


@contextlib.contextmanager
def pipeline(conn: sa.Connection) -> Iterator[None]:
    """On PostgreSQL, the statements started in this block go to the server together
    and are answered together (psycopg's pipeline mode): one round trip where one by
    one they cost one each. Rows of a `start`ed SELECT are read after the block. Errors
    surface at the block's end, as SQLAlchemy's exceptions. Elsewhere a plain block."""
    if conn.dialect.name != "postgresql":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline():
            yield
    except sa.exc.SQLAlchemyError:
        raise
    except Exception as err:
        conn._handle_dbapi_exception(err, None, None, None, None)


class Pending:
    """A statement sent whose rows are read later (after a `pipeline` block)."""

    __slots__ = ("_conn", "_cursor", "_prepared")

    def __init__(self, conn: sa.Connection, cursor: Any, prepared: Prepared) -> None:
        self._conn, self._cursor, self._prepared = conn, cursor, prepared

    def rows(self) -> list[Any]:
        fetched = _read(self._conn, self._cursor, self._prepared.sql, None,
                        lambda cursor: cursor.fetchall())
        return _rows(self._prepared, fetched)


def start(conn: sa.Connection, prepared: Prepared, values: dict[str, Any] | None = None
          ) -> Pending:
    """Send a SELECT (or a statement with RETURNING) now, read its rows later."""
    cursor = _send(conn, prepared, prepared.params(values or {}), many=False)
    return Pending(conn, cursor, prepared)


def run(conn: sa.Connection, prepared: Prepared, values: dict[str, Any] | None = None
        ) -> list[Any]:
    """Execute on `conn`'s driver connection; the rows (named tuples) of a SELECT or a
    RETURNING, else []. In a `pipeline` block, use `start` for rows."""
    cursor = _send(conn, prepared, prepared.params(values or {}), many=False)
    if cursor.description is None:
        cursor.close()
        return []
    return Pending(conn, cursor, prepared).rows()


def run_many(conn: sa.Connection, prepared: Prepared, rows: list[dict[str, Any]]) -> None:
    """One executemany (psycopg pipelines it) for several parameter sets."""
    _send(conn, prepared, [prepared.params(r) for r in rows], many=True).close()


def execute_text(conn: sa.Connection, sql: str, params: dict[str, Any]) -> None:
    """One statement written for the driver (its parameter style, values already as
    the driver takes them), rows not wanted."""
    _send_sql(conn, sql, params, many=False).close()


def first_text(conn: sa.Connection, sql: str, params: dict[str, Any]) -> Any | None:
    """One statement written for the driver (as `execute_text`); its first row as a
    named tuple of the driver's values, or None. For a statement whose result SQLAlchemy
    would otherwise describe afresh on every call (a text has no cached metadata)."""
    cursor = _send_sql(conn, sql, params, many=False)
    row, description = _read(conn, cursor, sql, params,
                             lambda cursor: (cursor.fetchone(), cursor.description))
    if row is None:
        return None
    return _text_row(tuple(column[0] for column in description))._make(row)


@functools.lru_cache(maxsize=64)
def _text_row(names: tuple[str, ...]) -> Any:
    # rename: a name the statement repeats (two set_config calls) is renamed by position.
    return namedtuple("Row", names, rename=True)


def _send(conn: sa.Connection, prepared: Prepared, params: Any, *, many: bool) -> Any:
    return _send_sql(conn, prepared.sql, params, many=many)


def _send_sql(conn: sa.Connection, sql: str, params: Any, *, many: bool) -> Any:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        events = conn._has_events or conn.engine._has_events
        if events:
            for fn in conn.dispatch.before_cursor_execute:
                sql, params = fn(conn, cursor, sql, params, None, many)
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        if events:
            conn.dispatch.after_cursor_execute(conn, cursor, sql, params, None, many)
    except BaseException as err:
        cursor.close()
        conn._handle_dbapi_exception(err, sql, params, cursor, None)
    return cursor


def _read(conn: sa.Connection, cursor: Any, sql: str, params: Any,
          read: Callable[[Any], Any]) -> Any:
    """`read(cursor)`, then the cursor closed; a driver error while reading becomes
    SQLAlchemy's through the connection's own handler (as in `_send_sql`)."""
    try:
        result = read(cursor)
    except BaseException as err:
        cursor.close()
        conn._handle_dbapi_exception(err, sql, params, cursor, None)
    cursor.close()
    return result


def _rows(prepared: Prepared, fetched: list[Any]) -> list[Any]:
    make, processors = prepared.row._make, prepared.results
    if not any(processors):
        return [make(r) for r in fetched]
    return [make([v if p is None or v is None else p(v)
                  for p, v in zip(processors, r, strict=True)]) for r in fetched]
