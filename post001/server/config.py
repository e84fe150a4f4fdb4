"""Server-only settings (`POST001_SERVER_*`), next to the user's `Settings`."""

from __future__ import annotations

from pydantic import Field, SecretStr
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
    #: Failed sign-ins allowed per client and username per minute before 429.
    login_attempts_per_minute: int = Field(default=10, ge=1)
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
    #: Seconds a request waits for a free connection before it gets 503 + Retry-After.
    pool_timeout: float = Field(default=10.0, gt=0, le=300)
    #: Lets a Prometheus elsewhere scrape /metrics (Authorization: Bearer <token>);
    #: without it, only loopback requests that came through no proxy may.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)
