"""Backups an operator can trust: consistent while the app writes, checked, private.

A backup is two files: the dump and, beside it, `<dump>.manifest.json` with the schema
revision, the row count of every table and the dump's SHA-256. Both are created 0600
(they hold every draft and the server's password hashes).

- SQLite: the online backup API copies the database in one step from a read snapshot,
  so writers carry on (WAL) and the copy is consistent. The counts are taken from the
  copy, so they describe exactly what was saved.
- PostgreSQL: `pg_dump --format=custom` reading a snapshot this module exports from a
  REPEATABLE READ transaction in which it also counts the rows: the dump and the counts
  describe the same instant. The archive is then listed with `pg_restore --list`.
  pg_dump refuses servers newer than itself, so an older pg_dump is refused up front
  with the versions named; the client matching the server's major version is preferred
  (Debian keeps each in /usr/lib/postgresql/N/bin). A newer pg_dump is fine for the
  dump; the manifest records it, since restoring then needs a pg_restore at least as new.

Restore refuses a database holding data unless forced, refuses a dump whose checksum or
revision does not fit, and verifies the counts afterwards. On PostgreSQL it replaces the
`public` schema in one transaction (psql --single-transaction), so a failed restore
leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from post001.core.errors import DatabaseError, Post001Error, ValidationError
from post001.core.sql.engine import BUSY_TIMEOUT_MS, normalize_url
from post001.core.sql.schema import SEARCH_TABLE_PREFIX, history

FORMAT = "post001-backup/1"
PG_BIN_ENV = "POST001_PG_BIN"
#: The role migration 0006 grants to; dumps carry its grants, so a cluster restored into
#: must have it.
APP_ROLE = "post001_app"
_NOT_COUNTED = ("alembic_version",)


@dataclass(frozen=True, slots=True)
class Manifest:
    backend: str
    revision: str | None
    tables: dict[str, int]
    sha256: str
    bytes: int
    created_at: str
    file: str
    tools: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "backend": self.backend, "revision": self.revision,
                "tables": self.tables, "file": self.file, "bytes": self.bytes,
                "sha256": self.sha256, "created_at": self.created_at, "tools": self.tools}


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".manifest.json")


def _backend(url: str) -> tuple[str, sa.URL]:
    parsed = make_url(normalize_url(url))
    name = parsed.get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise ValidationError(f"Backups cover SQLite and PostgreSQL, not {name}.", field="db",
                              actions=["Pass a sqlite:/// or postgresql:// URL with --db."])
    return name, parsed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 (whatever the umask), failing if it exists."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    _private_file(tmp)
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _partial(out: Path) -> Iterator[Path]:
    """A private temporary file beside `out`, removed unless the caller renamed it."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    _private_file(tmp)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _check_out(out: Path, overwrite: bool) -> None:
    if not out.parent.is_dir():
        raise ValidationError(f"out: the folder {out.parent} does not exist.", field="out",
                              actions=["Create the folder or choose another path."])
    for path in (out, manifest_path(out)):
        if path.exists() and not overwrite:
            raise ValidationError(
                f"out: {path} already exists; a backup never replaces one silently.",
                field="out", actions=["Choose another file name, or pass --force."])


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_path(parsed: sa.URL) -> Path:
    if not parsed.database or parsed.database == ":memory:":
        raise ValidationError("An in-memory database cannot be backed up or restored.",
                              field="db", actions=["Pass a database file with --db."])
    return Path(parsed.database).expanduser()


def _sqlite_connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return [n for n in names if n not in _NOT_COUNTED and not n.startswith(SEARCH_TABLE_PREFIX)]


def _sqlite_facts(conn: sqlite3.Connection) -> tuple[str | None, dict[str, int]]:
    counts = {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
              for t in _sqlite_tables(conn)}
    revision = None
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    return revision, counts


def _sqlite_backup(source: Path, tmp: Path) -> tuple[str | None, dict[str, int], dict[str, str]]:
    if not source.exists():
        raise ValidationError(f"There is no database at {source}.", field="db",
                              actions=["Check --db or POST001_DATABASE_URL "
                                       "(`post001 locate` shows the default)."])
    src = _sqlite_connect(source)
    dst = sqlite3.connect(tmp, isolation_level=None)
    try:
        # pages=-1: one step under one read snapshot; writers go on in the WAL meanwhile.
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise DatabaseError(f"The copy of {source} failed its integrity check: {check}")
        revision, counts = _sqlite_facts(dst)
    finally:
        dst.close()
        src.close()
    return revision, counts, {"sqlite": sqlite3.sqlite_version}


# --- PostgreSQL ---------------------------------------------------------------------------

_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def _libpq(parsed: sa.URL) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment carrying it."""
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    return uri, env


def tool_version(binary: str) -> tuple[int, str]:
    """(major, full text) of a PostgreSQL client tool, from its --version."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    match = _VERSION_RE.search(out.stdout)
    if out.returncode != 0 or match is None:
        raise DatabaseError(f"Cannot tell the version of {binary}: "
                            f"{(out.stdout + out.stderr).strip()[:200]}")
    return int(match.group(1)), f"{match.group(1)}.{match.group(2) or 0}"


def find_tool(name: str, server_major: int, pg_bin: str | None = None) -> str:
    """The client tool to use: --pg-bin / POST001_PG_BIN, else the one matching the
    server's major version (Debian's layout), else the one on PATH."""
    chosen = pg_bin or os.environ.get(PG_BIN_ENV)
    candidates = ([Path(chosen) / name] if chosen else
                  [Path(f"/usr/lib/postgresql/{server_major}/bin") / name])
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    if chosen:
        raise ValidationError(f"pg_bin: there is no {name} in {chosen}.", field="pg_bin")
    found = shutil.which(name)
    if found is None:
        raise DatabaseError(
            f"{name} is not installed; it comes with the PostgreSQL client tools.",
            actions=[f"Install postgresql-client-{server_major} (Debian/Ubuntu) or point "
                     f"--pg-bin / {PG_BIN_ENV} at the folder holding {name}."])
    return found


def check_dump_version(pg_dump_major: int, server_major: int, binary: str) -> None:
    """pg_dump cannot read a server newer than itself: refuse before it half-runs."""
    if pg_dump_major < server_major:
        raise DatabaseError(
            f"{binary} is PostgreSQL {pg_dump_major}, but the server is PostgreSQL "
            f"{server_major}: pg_dump must be the server's major version or newer.",
            details={"pg_dump_major": pg_dump_major, "server_major": server_major},
            actions=[f"Install postgresql-client-{server_major} and run again, or point "
                     f"--pg-bin / {PG_BIN_ENV} at its bin folder."])


def _server_major(conn: sa.Connection) -> tuple[int, str]:
    num = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one())
    return num // 10000, str(conn.execute(sa.text("SHOW server_version")).scalar_one())


def _pg_tables(conn: sa.Connection) -> list[str]:
    names = conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )).scalars().all()
    return [str(n) for n in names if n not in _NOT_COUNTED]


def _pg_facts(conn: sa.Connection) -> tuple[str | None, dict[str, int]]:
    counts = {t: int(conn.execute(sa.text(f'SELECT count(*) FROM public."{t}"')).scalar_one())
              for t in _pg_tables(conn)}
    revision = None
    if conn.execute(sa.text("SELECT to_regclass('public.alembic_version')")).scalar():
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return revision, counts


def _pg_engine(parsed: sa.URL) -> sa.Engine:
    from post001.core.sql.engine import make_engine

    return make_engine(parsed.render_as_string(hide_password=False), pool_size=1,
                       max_overflow=0)


def _pg_backup(parsed: sa.URL, tmp: Path, pg_bin: str | None
               ) -> tuple[str | None, dict[str, int], dict[str, str]]:
    engine = _pg_engine(parsed)
    try:
        with engine.connect() as conn:
            major, server_version = _server_major(conn)
            conn.rollback()  # the snapshot's transaction must start fresh, below
            pg_dump = find_tool("pg_dump", major, pg_bin)
            pg_restore = find_tool("pg_restore", major, pg_bin)
            dump_major, dump_version = tool_version(pg_dump)
            check_dump_version(dump_major, major, pg_dump)
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(sa.text("SET TRANSACTION READ ONLY"))
                snapshot = str(conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one())
                revision, counts = _pg_facts(conn)
                uri, env = _libpq(parsed)
                # The snapshot lives as long as this transaction: pg_dump reads exactly it.
                run = subprocess.run(
                    [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                     f"--file={tmp}", f"--dbname={uri}"],
                    capture_output=True, text=True, env=env, check=False)
        if run.returncode != 0:
            raise DatabaseError(f"pg_dump failed: {run.stderr.strip()[:500]}")
        listing = subprocess.run([pg_restore, "--list", str(tmp)], capture_output=True,
                                 text=True, check=False)
        if listing.returncode != 0:
            raise DatabaseError(f"pg_restore --list cannot read the dump: "
                                f"{listing.stderr.strip()[:500]}")
        listed = set(re.findall(r"TABLE DATA public (\S+) ", listing.stdout))
        missing = sorted(set(counts) - listed)
        if missing:
            raise DatabaseError(f"The dump lacks the data of {', '.join(missing)}.")
    finally:
        engine.dispose()
    return revision, counts, {"pg_dump": dump_version, "server": server_version}


# --- backup --------------------------------------------------------------------------------


def backup(url: str, out: Path, *, overwrite: bool = False, pg_bin: str | None = None
           ) -> dict[str, Any]:
    """Back up the database at `url` to `out` (+ its manifest). Returns the manifest
    with the paths and the time taken."""
    backend, parsed = _backend(url)
    out = out.expanduser().absolute()
    _check_out(out, overwrite)
    started = time.perf_counter()
    with _partial(out) as tmp:
        if backend == "sqlite":
            revision, counts, tools = _sqlite_backup(_sqlite_path(parsed), tmp)
        else:
            revision, counts, tools = _pg_backup(parsed, tmp, pg_bin)
        _fsync(tmp)
        manifest = Manifest(
            backend=backend, revision=revision, tables=counts, sha256=_sha256(tmp),
            bytes=tmp.stat().st_size, created_at=datetime.now(UTC).isoformat(),
            file=out.name, tools=tools)
        os.replace(tmp, out)
    _write_private(manifest_path(out), json.dumps(manifest.to_dict(), indent=2) + "\n")
    return {**manifest.to_dict(), "path": str(out), "manifest": str(manifest_path(out)),
            "seconds": round(time.perf_counter() - started, 3)}


# --- restore -------------------------------------------------------------------------------


def read_manifest(dump: Path) -> dict[str, Any]:
    path = manifest_path(dump)
    if not dump.is_file():
        raise ValidationError(f"file: there is no backup at {dump}.", field="file",
                              actions=["Check the path of the file `post001 db backup` wrote."])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(
            f"file: {dump} has no manifest beside it ({path.name}); restore needs the "
            "revision and row counts `post001 db backup` writes there.", field="file",
            actions=["Keep FILE.manifest.json beside the dump when moving backups."]
        ) from None
    except ValueError as exc:
        raise ValidationError(f"file: the manifest {path} is not valid JSON ({exc}).",
                              field="file", actions=["Restore the manifest from the same "
                                                     "backup set."]) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValidationError(f"file: {path} is not a post001 backup manifest "
                              f"(format {FORMAT!r}).", field="file",
                              actions=["Restore files written by `post001 db backup`."])
    return data


def _check_dump(dump: Path, manifest: dict[str, Any], backend: str) -> None:
    if manifest.get("backend") != backend:
        raise ValidationError(
            f"file: {dump.name} is a {manifest.get('backend')} backup; the target is "
            f"{backend}. Restore it into a {manifest.get('backend')} database.", field="file",
            actions=["Pass a matching database URL with --db."])
    actual = _sha256(dump)
    if actual != manifest.get("sha256"):
        raise ValidationError(
            f"file: {dump.name} does not match its manifest (SHA-256 {actual[:12]}... "
            f"instead of {str(manifest.get('sha256'))[:12]}...): it changed or is "
            "incomplete.", field="file",
            actions=["Use another copy of this backup, or another backup."])
    revision = manifest.get("revision")
    known = [rev for rev, _, _ in history()]
    if revision is not None and revision not in known:
        raise ValidationError(
            f"file: the backup is at schema revision {revision}, which this version of "
            "post001 does not know (a newer post001 made it).", field="file",
            actions=["Upgrade post001, then restore."])


def _verify(expected: dict[str, Any], revision: str | None, counts: dict[str, int]) -> None:
    wanted = {str(k): int(v) for k, v in dict(expected.get("tables") or {}).items()}
    differ = {t: {"expected": wanted.get(t), "found": counts.get(t)}
              for t in sorted(set(wanted) | set(counts)) if wanted.get(t) != counts.get(t)}
    if differ or revision != expected.get("revision"):
        raise DatabaseError(
            f"The restored database does not match the backup: revision {revision} "
            f"(expected {expected.get('revision')}), tables differing: "
            f"{', '.join(differ) or 'none'}.",
            details={"tables": differ})


def _has_data(counts: dict[str, int]) -> dict[str, int]:
    return {t: n for t, n in counts.items() if n}


def _refuse_data(where: str, data: dict[str, int]) -> None:
    rows = ", ".join(f"{n:,} {t}" for t, n in sorted(data.items()))
    raise ValidationError(
        f"{where} holds data ({rows}); restore replaces it only with --force.",
        field="force", details={"tables": data},
        actions=["Back it up first (`post001 db backup --out FILE`), then run the "
                 "restore again with --force."])


def _sqlite_restore(path: Path, dump: Path, force: bool) -> tuple[str | None, dict[str, int]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        target = _sqlite_connect(path)
        try:
            _, counts = _sqlite_facts(target)
        finally:
            target.close()
        data = _has_data(counts)
        if data and not force:
            _refuse_data(str(path), data)
    src = _sqlite_connect(dump, read_only=True)
    dst = _sqlite_connect(path)
    try:
        dst.execute("PRAGMA journal_mode = WAL")
        # Pages are copied under the target's write lock: open connections see the
        # restored database as soon as it completes, never a mix.
        src.backup(dst)
        return _sqlite_facts(dst)
    finally:
        dst.close()
        src.close()


PG_PRELUDE = f"""
SET lock_timeout = '10s';
SET client_min_messages = warning;
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOBYPASSRLS NOSUPERUSER;
    END IF;
END
$$;
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""


def _pg_restore(parsed: sa.URL, dump: Path, manifest: dict[str, Any], force: bool,
                pg_bin: str | None) -> tuple[str | None, dict[str, int]]:
    engine = _pg_engine(parsed)
    try:
        with engine.connect() as conn:
            major, _ = _server_major(conn)
            _, counts = _pg_facts(conn)
        data = _has_data(counts)
        if data and not force:
            _refuse_data(parsed.set(drivername="postgresql").render_as_string(
                hide_password=True), data)
        pg_restore = find_tool("pg_restore", major, pg_bin)
        psql = find_tool("psql", major, pg_bin)
        restore_major, _ = tool_version(pg_restore)
        made_with = str(dict(manifest.get("tools") or {}).get("pg_dump", "0"))
        dump_major = int(made_with.split(".")[0] or 0)
        if restore_major < dump_major:
            raise DatabaseError(
                f"{pg_restore} is PostgreSQL {restore_major}; the dump was made by pg_dump "
                f"{made_with}, whose archives need pg_restore {dump_major} or newer.",
                actions=[f"Install postgresql-client-{dump_major} or point --pg-bin / "
                         f"{PG_BIN_ENV} at it."])
        uri, env = _libpq(parsed)
        script = subprocess.Popen(
            [pg_restore, "--no-owner", "--file=-", str(dump)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        apply = subprocess.Popen(
            [psql, "--no-psqlrc", "--quiet", "--no-password", "-v", "ON_ERROR_STOP=1",
             "--single-transaction", f"--dbname={uri}", "--file=-"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env)
        assert script.stdout is not None and apply.stdin is not None
        try:
            apply.stdin.write(PG_PRELUDE.encode())
            shutil.copyfileobj(script.stdout, apply.stdin, 1 << 20)
        except BrokenPipeError:
            pass  # psql stopped on an error: reported below
        finally:
            with contextlib.suppress(BrokenPipeError):
                apply.stdin.close()
        assert script.stderr is not None and apply.stderr is not None
        script_err = script.stderr.read()
        script.wait()
        apply_err = apply.stderr.read()
        apply.wait()
        if script.returncode != 0:
            raise DatabaseError(f"pg_restore cannot read {dump.name}: "
                                f"{script_err.decode(errors='replace').strip()[:500]}")
        if apply.returncode != 0:
            detail = apply_err.decode(errors="replace").strip()
            hint = (["Stop the post001 server (it holds locks on the tables) and retry."]
                    if "lock timeout" in detail else [])
            raise DatabaseError(f"The restore failed and was rolled back: {detail[:500]}",
                                actions=hint)
        with engine.connect() as conn:
            return _pg_facts(conn)
    finally:
        engine.dispose()


def restore(url: str, dump: Path, *, force: bool = False, pg_bin: str | None = None
            ) -> dict[str, Any]:
    """Restore `dump` into the database at `url`, then verify it against the manifest."""
    backend, parsed = _backend(url)
    dump = dump.expanduser().absolute()
    manifest = read_manifest(dump)
    _check_dump(dump, manifest, backend)
    started = time.perf_counter()
    try:
        if backend == "sqlite":
            revision, counts = _sqlite_restore(_sqlite_path(parsed), dump, force)
        else:
            revision, counts = _pg_restore(parsed, dump, manifest, force, pg_bin)
    except sqlite3.Error as exc:
        raise DatabaseError(f"The restore failed: {exc}") from None
    except Post001Error:
        raise
    _verify(manifest, revision, counts)
    return {"backend": backend, "file": str(dump), "revision": revision, "tables": counts,
            "verified": True, "seconds": round(time.perf_counter() - started, 3)}
