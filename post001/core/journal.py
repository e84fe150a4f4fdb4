"""The offline journal: writes kept on this machine until the server acknowledges them.

One SQLite file in the data directory (`journal.db`, mode 0600), written through the
standard library's sqlite3 (no SQLAlchemy on this path: a journal write must cost little
more than the INSERT itself). WAL with `synchronous=FULL`: every append is fsynced before
it returns, so an entry survives SIGKILL and power loss alike.

Entries belong to one user on one server and are replayed in the order they were
written (`seq`). Each carries the identity that makes a repeat harmless on the server: a
client-made post id (create), a save id (save) or an idempotency key (publish). An entry
is deleted only after the server acknowledged it; a crash in between means it is sent
again, and the server recognises the repeat.

An entry the server refused for a reason a retry will not fix (a real conflict, a
validation error) becomes `stuck`, with the server's answer kept in `problem`; later
entries for the same post wait behind it (never overtaking it), and the writer's text
stays here until they resolve it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from post001.core.config import data_dir

JOURNAL_FILE = "journal.db"
Kind = Literal["create", "save", "publish"]
State = Literal["pending", "stuck"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    server TEXT NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('create', 'save', 'publish')),
    post_id TEXT NOT NULL,
    write_id TEXT NOT NULL,
    base_version INTEGER,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stuck')),
    problem TEXT
);
CREATE INDEX IF NOT EXISTS entries_owner ON entries (server, username, seq);
CREATE TABLE IF NOT EXISTS identities (
    server TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    username TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (server, token_hash)
);
"""

_INSERT = (
    "INSERT INTO entries (server, username, kind, post_id, write_id, base_version, "
    "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS = ("seq, kind, post_id, write_id, base_version, payload, created_at, state, "
            "problem")


def default_path() -> Path:
    return data_dir() / JOURNAL_FILE


def token_fingerprint(token: str) -> str:
    """What the journal keeps to recognise a token (never the token)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    kind: Kind
    post_id: UUID
    write_id: str
    base_version: int | None
    payload: dict[str, Any]
    created_at: datetime
    state: State
    problem: dict[str, Any] | None


def _entry(row: Sequence[Any]) -> Entry:
    seq, kind, post_id, write_id, base, payload, created, state, problem = row
    return Entry(seq=int(seq), kind=kind, post_id=UUID(post_id), write_id=str(write_id),
                 base_version=None if base is None else int(base),
                 payload=json.loads(payload), created_at=datetime.fromisoformat(created),
                 state=state, problem=json.loads(problem) if problem else None)


class Journal:
    """The journal of one user on one server (a view on the shared file)."""

    def __init__(self, server: str, username: str, path: Path | None = None) -> None:
        self.server = server
        self.username = username
        self.path = path or default_path()
        self._db = open_database(self.path)
        self._lock = threading.Lock()
        self._owner = (server, username)

    # --- writing ----------------------------------------------------------------------
    def append(self, kind: Kind, post_id: UUID, write_id: str, payload: dict[str, Any],
               *, base_version: int | None = None) -> int:
        """Keep one write; durable (fsynced) when this returns. Returns its seq."""
        now = datetime.now(UTC).isoformat()
        text = json.dumps(payload, separators=(",", ":"), default=str)
        with self._lock:
            cursor = self._db.execute(_INSERT, (*self._owner, kind, str(post_id), write_id,
                                                base_version, text, now))
        return int(cursor.lastrowid or 0)

    def remove(self, seq: int) -> None:
        """The server acknowledged entry `seq`.

        Committed without its own fsync (synchronous=NORMAL for this one statement): it
        survives the process being killed, and the next append's fsync makes it durable.
        Were it lost to a power cut, the entry would be sent again, and the server
        recognises a repeated write (post ids, save ids, publish keys); a replay that
        meets its own text treats it as sent (see OfflineStore). Appends, which hold the
        writer's words, always wait for their fsync."""
        with self._lock:
            self._db.execute("PRAGMA synchronous = NORMAL")
            try:
                self._db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
            finally:
                self._db.execute("PRAGMA synchronous = FULL")

    def remove_many(self, seqs: Sequence[int]) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM entries WHERE seq = ?", [(s,) for s in seqs])

    def mark_stuck(self, seq: int, problem: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE entries SET state = 'stuck', problem = ? WHERE seq = ?",
                             (json.dumps(problem, default=str), seq))

    def release(self, post_id: UUID) -> None:
        """Let a post's entries be sent again (after the writer resolved its problem)."""
        with self._lock:
            self._db.execute(
                "UPDATE entries SET state = 'pending', problem = NULL "
                "WHERE server = ? AND username = ? AND post_id = ?",
                (*self._owner, str(post_id)))

    def replace(self, remove: Sequence[int], add: Sequence[tuple[Kind, UUID, str,
                                                                 dict[str, Any], int | None]]
                ) -> None:
        """Swap entries in one transaction (e.g. a deleted post's saves for the create
        of a new draft that keeps their text): never both, never neither."""
        now = datetime.now(UTC).isoformat()
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM entries WHERE seq = ?", [(s,) for s in remove])
            self._db.executemany(_INSERT, [
                (*self._owner, kind, str(pid), wid, base,
                 json.dumps(payload, separators=(",", ":"), default=str), now)
                for kind, pid, wid, payload, base in add])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- reading ----------------------------------------------------------------------
    def entries(self, post_id: UUID | None = None) -> list[Entry]:
        """This user's entries on this server, oldest first."""
        sql = f"SELECT {_COLUMNS} FROM entries WHERE server = ? AND username = ?"
        args: tuple[Any, ...] = self._owner
        if post_id is not None:
            sql += " AND post_id = ?"
            args = (*args, str(post_id))
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [_entry(r) for r in rows]

    def count(self) -> tuple[int, int]:
        """(entries, of which stuck)."""
        with self._lock:
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(state = 'stuck'), 0) FROM entries "
                "WHERE server = ? AND username = ?", self._owner).fetchone()
        return int(row[0]), int(row[1])

    def has_entries(self, post_id: UUID) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM entries WHERE server = ? AND username = ? AND post_id = ? "
                "LIMIT 1", (*self._owner, str(post_id))).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --- the file ------------------------------------------------------------------------------


def open_database(path: Path) -> sqlite3.Connection:
    """The journal file, created private (0600) before SQLite first touches it; SQLite
    gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.close(fd)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.executescript(_SCHEMA)
    return db


def remember_identity(path: Path | None, server: str, token: str, username: str) -> None:
    """Who a token belongs to, so a store opened while offline knows whose journal to use."""
    db = open_database(path or default_path())
    try:
        db.execute(
            "INSERT INTO identities (server, token_hash, username, seen_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (server, token_hash) DO UPDATE SET username = excluded.username, "
            "seen_at = excluded.seen_at",
            (server, token_fingerprint(token), username, datetime.now(UTC).isoformat()))
    finally:
        db.close()


def known_identity(path: Path | None, server: str, token: str) -> str | None:
    path = path or default_path()
    if not path.exists():
        return None
    db = open_database(path)
    try:
        row = db.execute("SELECT username FROM identities WHERE server = ? AND token_hash = ?",
                         (server, token_fingerprint(token))).fetchone()
    finally:
        db.close()
    return str(row[0]) if row else None


def pending_count(server: str, username: str, path: Path | None = None) -> tuple[int, int]:
    """(entries, stuck) kept for `username` on `server`, without opening a store."""
    path = path or default_path()
    if not path.exists():
        return 0, 0
    journal = Journal(server, username, path)
    try:
        return journal.count()
    finally:
        journal.close()


def pending_by_user(server: str, path: Path | None = None) -> dict[str, int]:
    """Entries kept on this machine for each user of `server`."""
    path = path or default_path()
    if not path.exists():
        return {}
    db = open_database(path)
    try:
        rows = db.execute("SELECT username, count(*) FROM entries WHERE server = ? "
                          "GROUP BY username ORDER BY username", (server,)).fetchall()
    finally:
        db.close()
    return {str(u): int(n) for u, n in rows}
