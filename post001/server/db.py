"""The server's database connections.

On PostgreSQL every connection the server uses switches, once when it is opened, to
the application role (`post001_app`: owns no table, no BYPASSRLS), so row-level
security applies to every statement, including the auto-save fast path that talks to
the driver directly. The acting user is set per transaction by the store
(`set_config('post001.user_id', ..., true)`). The scheduler has its own small engine
with no extra rights: it finds every author's due posts through the SECURITY DEFINER
function `post001_due_posts` (0013_server_defence) and publishes each as its author.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import event

from post001.core.sql.engine import make_engine, normalize_url

log = logging.getLogger("post001.server")

#: The scheduler's store acts as nobody in particular: publishing runs as each author.
SYSTEM_USER_ID = UUID(int=0)
_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def is_postgres(engine: sa.Engine) -> bool:
    return engine.dialect.name == "postgresql"


def server_engine(
    url: str,
    *,
    app_role: str = "post001_app",
    system: bool = False,
    pool_size: int = 20,
    max_overflow: int = 20,
) -> sa.Engine:
    """An engine whose PostgreSQL connections act as `app_role` (RLS applies)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return make_engine(url)
    engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    if app_role and not _ROLE_RE.match(app_role):
        raise ValueError(f"not a role name: {app_role!r}")

    @event.listens_for(engine, "connect")
    def _act_as_app(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            if app_role:
                cur.execute(f'SET ROLE "{app_role}"')
        finally:
            cur.close()
        dbapi_conn.commit()  # session-level settings survive only a committed transaction

    return engine


def admin_engine(url: str) -> sa.Engine:
    """The connecting role itself (migrations, `post001 server user add`)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return make_engine(url)
    return make_engine(url, pool_size=1, max_overflow=2)


def check_rls(engine: sa.Engine) -> bool | None:
    """None on SQLite; otherwise whether the server's role is really subject to RLS."""
    if not is_postgres(engine):
        return None
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT r.rolsuper OR r.rolbypassrls AS bypass, c.relforcerowsecurity AS forced "
            "FROM pg_roles r, pg_class c "
            "WHERE r.rolname = current_user AND c.oid = 'public.post_collectives'::regclass"
        )).first()
    ok = bool(row is not None and not row.bypass and row.forced)
    if not ok:
        log.warning("row-level security is NOT in force for the server's database role")
    return ok
