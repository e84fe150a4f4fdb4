"""Accounts on the team server: argon2 password hashes and bearer tokens.

Tokens are 256 random bits; the database keeps only their SHA-256, so a leaked table
grants nothing. Each token can be revoked, listed per user, and may expire. On
PostgreSQL the server's role cannot read other users' rows of these tables: it resolves
a token or a password only through two SECURITY DEFINER functions (migration 0006).

Administration (`post001 server user add`, `post001 server token revoke`) connects as
the database owner and uses plain SQL on the same tables.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import re
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

import aiologic
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from post001.core.clock import as_utc
from post001.core.errors import NotFoundError, PermissionDenied, Post001Error, ValidationError
from post001.core.models import User, UserCreate
from post001.core.sql import direct
from post001.core.sql.engine import act_as, begin_as, identity_params, identity_sql
from post001.core.validation import parse

TOKEN_PREFIX = "p001_"
LAST_USED_EVERY = timedelta(minutes=10)  # how stale last_used_at may get (saves writes)

# The server's own tables (created by migration 0006_auth_rls), kept out of the core's
# metadata because only the server reads them.
auth_metadata = sa.MetaData()
_users = sa.Table(
    "users", auth_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("username", sa.Text),
    sa.Column("display_name", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
user_passwords = sa.Table(
    "user_passwords", auth_metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
api_tokens = sa.Table(
    "api_tokens", auth_metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

_hasher_lock = threading.Lock()
_hasher: PasswordHasher | None = None
_dummy_hash: str | None = None


def _ph() -> PasswordHasher:
    global _hasher, _dummy_hash
    with _hasher_lock:
        if _hasher is None:
            _hasher = PasswordHasher()
            _dummy_hash = _hasher.hash(secrets.token_hex(16))
        return _hasher


class AuthError(PermissionDenied):
    """401: no credentials, or credentials the server does not accept."""

    http_status = 401
    title = "Sign in"
    default_actions = ("Run `post001 login URL` (or set POST001_TOKEN) and try again.",)


class TooManyAttempts(PermissionDenied):
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed sign-ins; wait {retry_after} s and try again.",
            details={"retry_after": retry_after},
        )
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID
    username: str
    token_id: UUID


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (tests use argon2.profiles.CHEAPEST; hashes made with
    any parameters keep verifying, since each hash records its own)."""
    global _hasher, _dummy_hash
    with _hasher_lock:
        _hasher = hasher
        _dummy_hash = hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _ph().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (no username probing by timing)."""
    ph = _ph()
    try:
        return ph.verify(stored or _dummy_hash or "", password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_rules(password: str, field: str = "password") -> None:
    """`field` names the password where the client sent it (`new_password` in a change)."""
    if len(password) < 8:
        raise ValidationError(f"{field}: use at least 8 characters.", field=field)
    if len(password) > 1024:
        raise ValidationError(f"{field}: at most 1024 characters.", field=field)


def _pg(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _act_as(conn: sa.Connection, user_id: UUID) -> None:
    act_as(conn, user_id)


# --- request time (the server's role) ----------------------------------------------------


def authenticate(engine: sa.Engine, token: str | None, now: datetime) -> Principal:
    """The user behind a bearer token, or AuthError saying exactly why not."""
    with begin_as(engine, None, lambda conn: authenticate_in(conn, token, now)) as (_, who):
        return cast(Principal, who)


def authenticate_in(conn: sa.Connection, token: str | None, now: datetime) -> Principal:
    """`authenticate` as the first statement of the caller's transaction, which from
    then on acts as the token's user (the server's one transaction per request)."""
    if not token:
        raise AuthError("This server needs a token: sign in with `post001 login URL`.")
    if len(token) > 200:
        raise AuthError("The token is not valid.")
    digest = token_hash(token)
    if _pg(conn):
        # The lookup and the identity in one round trip (the role switch and the user
        # are transaction-local; see post001/core/sql/engine.py, act_as). On the driver:
        # SQLAlchemy would describe this text's result afresh on every request.
        params = {**identity_params(conn, None), "h": digest}
        params.pop("post001_uid")
        row = direct.first_text(conn, _token_lookup_sql(identity_sql(conn)), params)
    else:
        row = conn.execute(
            sa.select(api_tokens.c.id.label("token_id"), api_tokens.c.user_id,
                      _users.c.username, api_tokens.c.expires_at,
                      api_tokens.c.revoked_at, api_tokens.c.last_used_at)
            .join(_users, _users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == digest)
        ).first()
    if row is None:
        raise AuthError("The token is not valid.")
    if row.revoked_at is not None:
        raise AuthError("This token was revoked; sign in again.")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        raise AuthError("Your session has expired; sign in again.")
    if row.last_used_at is None or as_utc(row.last_used_at) < now - LAST_USED_EVERY:
        conn.execute(api_tokens.update().where(api_tokens.c.id == row.token_id)
                     .values(last_used_at=now))
    return Principal(user_id=row.user_id, username=row.username, token_id=row.token_id)


@functools.lru_cache(maxsize=8)
def _token_lookup_sql(identity: str) -> str:
    """The lookup statement for an `identity_sql` text, in the driver's own parameter
    style: it runs on every request, so it is built once and handed to the driver
    as it is (no SQLAlchemy text construct to parse and compile each time)."""
    sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", identity)
    sql = sql.replace("%(post001_uid)s", "t.user_id::text")
    return f"{sql}, t.* FROM post001_token_lookup(%(h)s) AS t"


class ServerBusy(Post001Error):
    """503: every password check slot is taken (each argon2 check holds 64 MiB)."""

    category = "network"
    http_status = 503
    title = "Server busy"
    default_actions = ("Wait a moment and try again.",)

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"The server is busy checking other sign-ins; try again in {retry_after} s.",
            details={"retry_after": retry_after})
        self.retry_after = retry_after


class VerifyGate:
    """At most `slots` password checks at once in this process (argon2 takes 64 MiB and
    a core for each); a caller waits up to `wait_seconds` for a slot, then gets
    ServerBusy (503 with Retry-After). Memory stays bounded whatever the load.

    The server's sign-in routes wait on the event loop (`waiting`), not in a request
    thread: a burst of sign-ins queued for a slot would otherwise hold every thread of
    the worker for up to `wait_seconds`, and saves would wait behind them. The slots
    are an aiologic semaphore because they are shared by the worker's event loop and
    threads (`slot`, for code that is not async), which asyncio's is not."""

    def __init__(self, slots: int, wait_seconds: float) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._semaphore = aiologic.BoundedSemaphore(slots)

    @property
    def queued(self) -> int:
        """Callers waiting for a slot now."""
        return int(self._semaphore.waiting)

    def _busy(self) -> ServerBusy:
        return ServerBusy(max(1, math.ceil(self.wait_seconds)))

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if not self._semaphore.green_acquire(timeout=self.wait_seconds):
            raise self._busy()
        try:
            yield
        finally:
            self._semaphore.green_release()

    @contextlib.asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        if not await self._semaphore.async_acquire(timeout=self.wait_seconds):
            raise self._busy()
        try:
            yield
        finally:
            self._semaphore.async_release()


def login(
    engine: sa.Engine,
    username: str,
    password: str,
    *,
    now: datetime,
    name: str = "",
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Check a password and issue a new token (returned once, stored only as a hash).
    The server calls it holding a `VerifyGate` slot."""
    with engine.begin() as conn:
        if _pg(conn):
            row = conn.execute(sa.text("SELECT * FROM post001_password_lookup(:u)"),
                               {"u": username}).first()
        else:
            row = conn.execute(
                sa.select(_users.c.id.label("user_id"), user_passwords.c.password_hash)
                .join(user_passwords, user_passwords.c.user_id == _users.c.id)
                .where(_users.c.username == username)
            ).first()
    ok = verify_password(row.password_hash if row else None, password)
    if row is None or not ok:
        raise AuthError("Wrong username or password.")
    with engine.begin() as conn:
        _act_as(conn, row.user_id)
        token, token_id = _insert_token(conn, row.user_id, name, now, expires_at)
    return {"token": token, "id": token_id, "name": name, "username": username,
            "expires_at": expires_at}


def change_password(engine: sa.Engine, principal: Principal, current: str, new: str, *,
                    now: datetime) -> int:
    """The signed-in user's own change: the current password must be right; every other
    token of theirs is revoked (the one making the change stays). Returns how many.
    The server calls it holding a `VerifyGate` slot."""
    check_password_rules(new, field="new_password")
    with engine.begin() as conn:
        if _pg(conn):
            row = conn.execute(sa.text("SELECT * FROM post001_password_lookup(:u)"),
                               {"u": principal.username}).first()
        else:
            row = conn.execute(
                sa.select(user_passwords.c.user_id, user_passwords.c.password_hash)
                .where(user_passwords.c.user_id == principal.user_id)).first()
    ok = verify_password(row.password_hash if row else None, current)
    if row is None or not ok or row.user_id != principal.user_id:
        raise PermissionDenied("current_password: that is not your current password.",
                               field="current_password")
    hashed = hash_password(new)
    with engine.begin() as conn:
        if _pg(conn):
            _act_as(conn, principal.user_id)
            return int(conn.execute(
                sa.text("SELECT post001_change_password(:h, :keep, :now)"),
                {"h": hashed, "keep": principal.token_id, "now": now}).scalar() or 0)
        conn.execute(user_passwords.update()
                     .where(user_passwords.c.user_id == principal.user_id)
                     .values(password_hash=hashed, updated_at=now))
        return int(conn.execute(api_tokens.update().where(
            api_tokens.c.user_id == principal.user_id, api_tokens.c.revoked_at.is_(None),
            api_tokens.c.id != principal.token_id).values(revoked_at=now)).rowcount)


def _insert_token(conn: sa.Connection, user_id: UUID, name: str, now: datetime,
                  expires_at: datetime | None) -> tuple[str, UUID]:
    token = new_token()
    token_id = uuid.uuid4()
    conn.execute(api_tokens.insert().values(
        id=token_id, user_id=user_id, token_hash=token_hash(token), name=name[:100],
        created_at=now, expires_at=expires_at))
    return token, token_id


def list_tokens(engine: sa.Engine, user_id: UUID) -> list[Any]:
    with engine.begin() as conn:
        _act_as(conn, user_id)
        return list(conn.execute(
            sa.select(api_tokens).where(api_tokens.c.user_id == user_id)
            .order_by(api_tokens.c.created_at.desc())
        ).all())


def revoke(engine: sa.Engine, user_id: UUID, token_id: UUID, now: datetime) -> None:
    """Revoke one of the user's own tokens; another user's id is simply not found."""
    with engine.begin() as conn:
        _act_as(conn, user_id)
        result = conn.execute(
            api_tokens.update()
            .where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)
            .values(revoked_at=sa.func.coalesce(api_tokens.c.revoked_at, now))
        )
        if result.rowcount == 0:
            raise NotFoundError(f"No token {token_id}.", field="token_id")


# --- administration (the database owner) ---------------------------------------------


def add_user(engine: sa.Engine, username: str, password: str, *, now: datetime,
             display_name: str = "") -> User:
    """A user who can sign in. An existing profile without a password gets one."""
    data = parse(UserCreate, {"username": username, "display_name": display_name})
    check_password_rules(password)
    hashed = hash_password(password)
    with engine.begin() as conn:
        row = conn.execute(sa.select(_users).where(_users.c.username == data.username)).first()
        if row is None:
            user_id = uuid.uuid4()
            conn.execute(_users.insert().values(id=user_id, username=data.username,
                                                display_name=data.display_name,
                                                created_at=now))
            created_at = now
        else:
            user_id, created_at = row.id, row.created_at
            has = conn.execute(sa.select(user_passwords.c.user_id)
                               .where(user_passwords.c.user_id == user_id)).first()
            if has:
                raise ValidationError(f"username: {username!r} already has a password.",
                                      field="username")
        conn.execute(user_passwords.insert().values(user_id=user_id, password_hash=hashed,
                                                    updated_at=now))
    return User(id=user_id, username=data.username, display_name=data.display_name,
                created_at=created_at)


def set_password(engine: sa.Engine, username: str, password: str, *, now: datetime) -> int:
    """A new password; every token the user holds is revoked in the same transaction
    (whoever had one signs in again with the new password). Returns how many."""
    check_password_rules(password)
    hashed = hash_password(password)
    with engine.begin() as conn:
        row = conn.execute(sa.select(_users.c.id).where(_users.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"There is no user named {username!r}.", field="username")
        conn.execute(user_passwords.delete().where(user_passwords.c.user_id == row.id))
        conn.execute(user_passwords.insert().values(user_id=row.id, password_hash=hashed,
                                                    updated_at=now))
        return int(conn.execute(api_tokens.update().where(
            api_tokens.c.user_id == row.id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)).rowcount)


def issue_token(engine: sa.Engine, username: str, *, now: datetime, name: str = "",
                expires_at: datetime | None = None) -> str:
    """A token for `username` without a password (administration and tests)."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(_users.c.id).where(_users.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"There is no user named {username!r}.", field="username")
        token, _ = _insert_token(conn, row.id, name, now, expires_at)
    return token


def admin_tokens(engine: sa.Engine, username: str | None = None) -> list[Any]:
    with engine.begin() as conn:
        q = (sa.select(api_tokens, _users.c.username)
             .join(_users, _users.c.id == api_tokens.c.user_id)
             .order_by(_users.c.username, api_tokens.c.created_at))
        if username:
            q = q.where(_users.c.username == username)
        return list(conn.execute(q).all())


def admin_revoke(engine: sa.Engine, *, now: datetime, token_id: UUID | None = None,
                 username: str | None = None, token: str | None = None) -> int:
    """Revoke by id, by the token itself, or every token of a user. Returns how many."""
    if token_id is None and username is None and token is None:
        raise ValidationError("say which token: an id, the token, or --user", field="token")
    q = api_tokens.update().where(api_tokens.c.revoked_at.is_(None))
    if token_id is not None:
        q = q.where(api_tokens.c.id == token_id)
    if token is not None:
        q = q.where(api_tokens.c.token_hash == token_hash(token))
    with engine.begin() as conn:
        if username is not None:
            row = conn.execute(sa.select(_users.c.id).where(_users.c.username == username)
                               ).first()
            if row is None:
                raise NotFoundError(f"There is no user named {username!r}.",
                                    field="username")
            q = q.where(api_tokens.c.user_id == row.id)
        return int(conn.execute(q.values(revoked_at=now)).rowcount)
