"""Settings, feature flags and where things live.

Settings come from (highest first) explicit arguments, `POST001_*` environment variables,
and a TOML file in the XDG config directory (`POST001_CONFIG` overrides its path).
Feature flags use unprefixed names so existing deployments keep working
(docs/product.md, "Feature flags and rollout").
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from typing import Any
from uuid import UUID

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Paths and the choice of store live in post001.core.locations (no pydantic there, for
# the CLI's lean listing); re-exported.
from post001.core.locations import APP_NAME as APP_NAME
from post001.core.locations import FLAG_ENV as FLAG_ENV
from post001.core.locations import FLAGS_TABLE as FLAGS_TABLE
from post001.core.locations import choose_store_url
from post001.core.locations import config_path as config_path
from post001.core.locations import data_dir as data_dir
from post001.core.locations import default_database_url as default_database_url
from post001.core.locations import demo_database_url as demo_database_url
from post001.core.models import DEFAULT_CONTENT_MAX, DEFAULT_MAX_COLLECTIVES


class Settings(BaseSettings):
    """User settings. Every field can be set in config.toml or as POST001_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="POST001_", extra="ignore")

    database_url: str | None = None
    server_url: str | None = None
    user: str | None = None
    token: str | None = None
    autosave_delay: float = Field(default=1.0, ge=0.05, le=60)
    autosave_max_interval: float = Field(default=10.0, ge=0.1, le=600)
    theme: str = "textual-dark"
    picker_postable_only: bool = True
    max_collectives_per_post: int = Field(default=DEFAULT_MAX_COLLECTIVES, ge=1, le=1000)
    max_content_chars: int = Field(default=DEFAULT_CONTENT_MAX, ge=1, le=10_000_000)
    scheduler_interval: float = Field(default=5.0, gt=0, le=5.0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
        )

    def store_url(self) -> str:
        """Which store to open: a server URL wins over a database URL over the default."""
        return choose_store_url(self.server_url, self.database_url)


def config_flags() -> dict[str, Any]:
    """The `[flags]` table of config.toml (empty when there is no file or table)."""
    path = config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    table = data.get(FLAGS_TABLE, {})
    if not isinstance(table, dict):
        raise ValueError(f"[{FLAGS_TABLE}] in {path} must be a table")
    return table


class _ConfigFlags(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole table

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in config_flags().items() if k in FLAG_ENV}


class FeatureFlags(BaseSettings):
    """The rollout switches (docs/product.md, "Feature flags and rollout"): the
    environment wins over config.toml's `[flags]` table, which wins over the defaults."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    enable_multi_collective: bool = True
    enable_enhanced_editor: bool = True
    enable_validation: bool = True
    rollout_percentage: int = Field(default=100, ge=0, le=100)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _ConfigFlags(settings_cls)

    def in_rollout(self, user_id: UUID) -> bool:
        return rollout_bucket(user_id) < self.rollout_percentage

    def multi_collective_for(self, user_id: UUID) -> bool:
        """False means the legacy flow: one collective per post, mirrored to collective_id."""
        return self.enable_multi_collective and self.in_rollout(user_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "multi_collective_posts": self.enable_multi_collective,
            "enhanced_editor": self.enable_enhanced_editor,
            "validation": self.enable_validation,
            "rollout_percentage": self.rollout_percentage,
        }


def flag_sources() -> dict[str, str]:
    """Where each flag's value comes from now: "environment", "config" or "default"."""
    env = {k.upper() for k in os.environ}
    table = config_flags()
    return {
        name: "environment" if var in env else "config" if name in table else "default"
        for name, var in FLAG_ENV.items()
    }


def rollout_bucket(user_id: UUID) -> int:
    """A stable 0-99 bucket: the same in every process (unlike hash(), which is salted)."""
    digest = hashlib.sha256(str(user_id).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100
