"""The composition root: one function turns settings into a ready Store."""

from __future__ import annotations

import os
from typing import Any

from post001.core.clock import Clock, utcnow
from post001.core.config import FeatureFlags, Settings
from post001.core.locations import default_username as default_username
from post001.core.store import Store


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
    offline: bool = False,
    **options: Any,
) -> Store:
    """Open a store acting as `user`.

    `url` is a SQLite URL (`sqlite:///path.db`), a PostgreSQL URL (`postgresql://...`),
    a post001 server (`http(s)://host:port`) or the name of a server in config.toml's
    `[servers]`; by default the configured one, else the embedded SQLite database in the
    user's data directory (created and migrated on the spot). On a database, a missing
    user is created as a local profile unless `create_user=False`.

    On a server the token decides who you are (post001.core.credentials: `token`, else
    `token_file`, else POST001_TOKEN, else the OS keyring, else the token file `post001
    login` recorded). A `user` (or POST001_USER) that is not the token's user is refused
    with post001.core.session.IdentityMismatch, a ValidationError naming both; checking
    it costs one request. `offline=True` returns an OfflineStore
    (post001.core.offline): writes that cannot reach the server are kept in a journal on
    this machine and sent when it answers again. Without it, an unreachable server
    raises NetworkError.
    """
    settings = settings or Settings()
    url = url or settings.store_url()
    if is_server(url):
        from post001.core.remote import open_remote_store
        from post001.core.session import check_identity

        # settings.token is POST001_TOKEN (the lookup reads that itself, after
        # --token-file) or a `token` in config.toml (used only when nothing else is found).
        configured = settings.token if settings.token != os.environ.get("POST001_TOKEN") \
            else None
        store = open_remote_store(url, token=token, token_file=token_file, offline=offline,
                                  fallback_token=configured, **options)
        try:
            check_identity(store, user or os.environ.get("POST001_USER"))
        except BaseException:
            store.close()
            raise
        return store
    from post001.core.sql.store import open_sql_store

    return open_sql_store(
        url,
        user or settings.user or default_username(),
        settings=settings,
        flags=flags or FeatureFlags(),
        clock=clock or utcnow,
        create_user=create_user,
        **options,
    )


def is_server(url: str) -> bool:
    """A server URL, or a name from config.toml's [servers] (database URLs have a
    scheme post001 knows). An unknown bare name is an error listing the known ones."""
    if url.startswith(("http://", "https://")):
        return True
    if "://" in url:
        return False
    from post001.core.servers import find

    find(url)  # a name: known, or an error that lists the known ones
    return True
