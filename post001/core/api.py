"""The composition root: one function turns settings into a ready Store."""

from __future__ import annotations

import getpass
import re
from typing import Any

from post001.core.clock import Clock, utcnow
from post001.core.config import FeatureFlags, Settings
from post001.core.store import Store


def default_username() -> str:
    """The operating-system user, folded into a valid post001 username."""
    name = re.sub(r"[^a-z0-9_]", "_", getpass.getuser().lower())[:32]
    return name if len(name) >= 3 else (name + "___")[:3]


def connect(
    url: str | None = None,
    user: str | None = None,
    *,
    settings: Settings | None = None,
    flags: FeatureFlags | None = None,
    clock: Clock | None = None,
    create_user: bool = True,
    token: str | None = None,
    token_file: str | None = None,
    **options: Any,
) -> Store:
    """Open a store acting as `user`.

    `url` is a SQLite URL (`sqlite:///path.db`), a PostgreSQL URL (`postgresql://...`) or
    a post001 server (`http(s)://host:port`); by default the configured one, else the
    embedded SQLite database in the user's data directory (created and migrated on the
    spot). On a database, a missing user is created as a local profile unless
    `create_user=False`. On a server, the token decides who you are (`token`, else
    POST001_TOKEN, else `token_file`, else the OS keyring entry `post001 login` made).
    """
    settings = settings or Settings()
    url = url or settings.store_url()
    flags = flags or FeatureFlags()
    if url.startswith(("http://", "https://")):
        from post001.core.remote import open_remote_store

        return open_remote_store(url, token=token or settings.token, token_file=token_file,
                                 **options)
    from post001.core.sql.store import open_sql_store

    return open_sql_store(
        url,
        user or settings.user or default_username(),
        settings=settings,
        flags=flags,
        clock=clock or utcnow,
        create_user=create_user,
        **options,
    )
