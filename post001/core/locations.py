"""Where things live, and which store a command opens: no pydantic, no settings machinery.

post001.core.config (the pydantic `Settings`) re-exports these paths and answers
`Settings.store_url()` with `choose_store_url`, so the rule "a server URL wins over a
database URL over the default file" is written once, here.

`peek_store_settings` reads the few settings that pick the store (the same sources, in the
same order, as `Settings`: POST001_* environment variables, then config.toml) for the
CLI's lean listing (post001/core/sql/quick_listing.py). It answers only when it is sure
to agree with `Settings`; whenever `Settings` could refuse the configuration or read it
differently, it answers None and the caller takes the full path, which reports it.
tests/test_store_location.py holds the two to the same answers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

APP_NAME = "post001"
ENV_PREFIX = "POST001_"

#: The settings that pick the store and the acting user: plain strings, which `Settings`
#: takes as they are (no limits, no conversion).
STORE_FIELDS = ("database_url", "server_url", "user", "token", "theme")
#: The other `Settings` fields: each has limits or a conversion `Settings` applies, so
#: the peek does not guess at them; when one is set anywhere, it answers None.
CHECKED_FIELDS = ("autosave_delay", "autosave_max_interval", "picker_postable_only",
                  "max_collectives_per_post", "max_content_chars", "scheduler_interval")
#: Each feature flag's environment variable (unprefixed, as existing deployments set them)
#: and the config.toml table they can also be set in (post001.core.config.FeatureFlags).
FLAG_ENV = {
    "enable_multi_collective": "ENABLE_MULTI_COLLECTIVE",
    "enable_enhanced_editor": "ENABLE_ENHANCED_EDITOR",
    "enable_validation": "ENABLE_VALIDATION",
    "rollout_percentage": "ROLLOUT_PERCENTAGE",
}
FLAGS_TABLE = "flags"


def config_path() -> Path:
    override = os.environ.get("POST001_CONFIG")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir() -> Path:
    override = os.environ.get("POST001_DATA_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'post001.db'}"


def demo_database_url() -> str:
    return f"sqlite:///{data_dir() / 'demo.db'}"


def choose_store_url(server_url: str | None, database_url: str | None) -> str:
    """Which store to open: a server URL wins over a database URL over the default."""
    return server_url or database_url or default_database_url()


def default_username() -> str:
    """The operating-system user, folded into a valid post001 username."""
    import getpass

    name = re.sub(r"[^a-z0-9_]", "_", getpass.getuser().lower())[:32]
    return name if len(name) >= 3 else (name + "___")[:3]


def peek_store_settings() -> dict[str, str | None] | None:
    """`database_url`, `server_url` and `user` as `Settings` would read them, or None
    when that cannot be told without `Settings` (an unreadable config file, a value
    that is not a string, a checked setting or a feature flag set: the full path checks
    those, and may refuse them)."""
    env: dict[str, str] = {}
    flags = {name.lower() for name in FLAG_ENV.values()}
    for name, raw in os.environ.items():
        lowered = name.lower()  # pydantic-settings matches names case-insensitively
        if lowered in flags:
            return None
        if lowered.startswith(ENV_PREFIX.lower()):
            field = lowered[len(ENV_PREFIX):]
            if field in env:
                return None  # the same setting under two spellings: which one wins?
            if field in STORE_FIELDS or field in CHECKED_FIELDS:
                env[field] = raw
    if any(field in env for field in CHECKED_FIELDS):
        return None
    path = config_path()
    try:
        with path.open("rb") as fh:
            import tomllib

            table = tomllib.load(fh)
    except FileNotFoundError:
        table = {}
    except (OSError, ValueError):
        return None
    if FLAGS_TABLE in table or any(field in table for field in CHECKED_FIELDS):
        return None
    found: dict[str, str | None] = {}
    for field in STORE_FIELDS:
        value: object = env[field] if field in env else table.get(field)
        if value is not None and not isinstance(value, str):
            return None
        found[field] = value
    return {field: found[field] for field in ("database_url", "server_url", "user")}
