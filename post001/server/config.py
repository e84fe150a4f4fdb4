"""Server-only settings (`POST001_SERVER_*`), next to the user's `Settings`."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from post001.core.models import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "ServerSettings"]


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POST001_SERVER_", extra="ignore")

    #: The role the server acts as on PostgreSQL ("" when the login role is already it).
    app_role: str = Field(default="post001_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$|^$")
    #: Request bodies above this are refused with 413 (a 200,000-character post in
    #: 4-byte characters plus 64 KiB of metadata fits).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    #: Whether signed-in users may add user profiles (no password) through the API.
    allow_user_creation: bool = False
    #: Tokens from `POST /api/v1/auth/token` expire after this many days (0: never).
    token_days: int = Field(default=90, ge=0, le=3650)
    #: The longest life a client may ask for (`expires_in_days`); longer asks, and a
    #: `token_days` of 0, are cut to this (0: no cap). See docs/server.md.
    max_token_days: int = Field(default=90, ge=0, le=3650)
    #: Failed sign-ins per client address and username before back-off (429 with
    #: Retry-After: 1 s, then doubling up to `signin_backoff_max_seconds`).
    login_attempts_per_minute: int = Field(default=10, ge=1)
    #: Failed sign-ins per client address across usernames (password spraying).
    signin_client_failures: int = Field(default=30, ge=1)
    #: Failed sign-ins per username across addresses; clients that signed in as that
    #: user before are exempt, so nobody can lock a user out.
    signin_user_failures: int = Field(default=50, ge=1)
    #: Quiet seconds after which a key's failures are forgotten.
    signin_window_seconds: int = Field(default=900, ge=1)
    signin_backoff_max_seconds: int = Field(default=900, ge=1)
    #: Password verifications at once per process (argon2: 64 MiB each) and how long a
    #: sign-in waits for one before 503 with Retry-After. Two per worker keeps a burst
    #: of sign-ins on two workers within 300 MiB (docs/server.md, "Scaling").
    max_concurrent_verifications: int = Field(default=2, ge=1)
    verification_wait_seconds: float = Field(default=2.0, ge=0)
    #: Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names
    #: the client; from anyone else the header is ignored.
    trusted_proxies: str = ""
    #: Slow clients (post001/server/http.py): a request's headers must arrive within
    #: this many seconds, its body within `body_timeout_seconds` after them; at most
    #: `max_header_bytes` of headers (400 beyond) and `max_header_count` of them (431).
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_header_bytes: int = Field(default=16 * 1024, ge=4096)
    max_header_count: int = Field(default=100, ge=10)
    #: Usernames (comma-separated) of the server's administrators: they see the
    #: server-wide figures of /api/health/post-creation (as does the metrics token).
    admin_users: str = ""

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.admin_users.split(",") if u.strip())
    #: Let `POST /api/v1/scheduler/run` take the caller's "now" even when it is later than
    #: the server's (tests with a fake clock; never on a shared server, where it would
    #: let anyone publish others' scheduled posts early). Otherwise an earlier "now" only.
    trust_client_clock: bool = False
    #: PostgreSQL connections each worker keeps for requests. Each request holds one
    #: only while its thread works, so a few per CPU core of the database are enough;
    #: more requests wait in line. Sizing rule (docs/server.md): workers x
    #: (pool_size + pool_max_overflow + 2 for the scheduler) must stay below the
    #: database's max_connections (or PgBouncer's default_pool_size) minus what other
    #: clients (backups, psql, migrations) need.
    pool_size: int = Field(default=10, ge=1, le=1000)
    #: Extra connections a worker may open under a burst (closed again when returned).
    pool_max_overflow: int = Field(default=0, ge=0, le=1000)
    #: Threads each worker runs requests' database work in; 0 sizes them to the work
    #: that can proceed at once, `request_threads_in_use`. The rest of the requests wait
    #: on the event loop, which costs nothing, rather than in threads that could only
    #: queue for a pooled connection or a password check slot (docs/server.md).
    request_threads: int = Field(default=0, ge=0, le=1000)
    #: Seconds a request waits for a free connection before it gets 503 + Retry-After.
    pool_timeout: float = Field(default=10.0, gt=0, le=300)
    #: Server-side prepared statements (psycopg prepares a statement after its 5th use on
    #: a connection, so PostgreSQL stops parsing and planning it each time; about 1 ms
    #: of a publish). "auto": on when the database answering listens on the port the
    #: server connected to, off when they differ (a pooler such as PgBouncer, usually on
    #: 6432, is in between: before 1.21 it cannot route them). Say "off" for a pooler on
    #: the database's own port; "on" for PgBouncer >= 1.21 with max_prepared_statements.
    prepared_statements: Literal["auto", "on", "off"] = "auto"
    #: Lets a Prometheus elsewhere scrape /metrics (Authorization: Bearer <token>);
    #: without it, only loopback requests that came through no proxy may.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)

    @property
    def request_threads_in_use(self) -> int:
        """`request_threads`, or else one per pooled connection and per password check
        slot, and two more: the scheduler's pass and a sign-in's throttle bookkeeping."""
        return self.request_threads or (self.pool_size + self.pool_max_overflow
                                        + self.max_concurrent_verifications + 2)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{part.strip()!r} is not an address or CIDR block"
                                     ) from None
        return value
