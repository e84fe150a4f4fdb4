"""The CLI's quick look at the settings agrees with `Settings`, or says it cannot tell.

`State.local_store()` (post001/cli/app.py, through post001.core.locations) picks the
store and the user without pydantic-settings, for `post list`'s lean path; `State.url()`
and `State.username()` ask `Settings`. Over every combination of the places a store or a
user can be named, both give the same answer.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from post001.cli.app import State
from post001.core import locations
from post001.core.config import FeatureFlags, Settings

SERVER = "http://127.0.0.1:9"
FLAG_DB = "sqlite:////flag/flag.db"
ENV_DB = "sqlite:////env/env.db"
TOML_DB = "sqlite:////toml/toml.db"

# (--db, --server, POST001_DATABASE_URL, POST001_SERVER_URL, toml database_url,
#  toml server_url); None: not given; "" where an empty value is worth a look.
COMBINATIONS = list(itertools.product(
    [None, FLAG_DB], [None, SERVER], [None, ENV_DB, ""], [None, SERVER, ""],
    [None, TOML_DB], [None, SERVER]))


def _toml(**values: str | None) -> str:
    return "".join(f'{name} = "{value}"\n' for name, value in values.items()
                   if value is not None)


@pytest.mark.parametrize(("db", "server", "env_db", "env_server", "toml_db", "toml_server"),
                         COMBINATIONS)
def test_the_store_is_the_one_settings_pick(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str | None, server: str | None,
        env_db: str | None, env_server: str | None, toml_db: str | None,
        toml_server: str | None) -> None:
    config = tmp_path / "config.toml"
    config.write_text(_toml(database_url=toml_db, server_url=toml_server))
    for name, value in (("POST001_DATABASE_URL", env_db), ("POST001_SERVER_URL", env_server)):
        if value is not None:
            monkeypatch.setenv(name, value)
    state = State()
    state.db, state.server = db, server
    quick = state.local_store()
    assert quick is not None
    assert quick[0] == state.url()
    found = locations.peek_store_settings()
    assert found is not None
    assert Settings().store_url() == locations.choose_store_url(found["server_url"],
                                                                found["database_url"])


@pytest.mark.parametrize(("flag", "env", "toml"),
                         list(itertools.product([None, "flagged"], [None, "envuser", ""],
                                                [None, "tomluser"])))
def test_the_user_is_the_one_settings_pick(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           flag: str | None, env: str | None,
                                           toml: str | None) -> None:
    config = tmp_path / "config.toml"
    config.write_text(_toml(user=toml))
    monkeypatch.setenv("POST001_CONFIG", str(config))
    if env is not None:
        monkeypatch.setenv("post001_user", env)  # any case, as pydantic-settings reads it
    state = State()
    state.user = flag
    quick = state.local_store()
    assert quick is not None and quick[1] == state.username()


def test_the_default_is_the_data_directory_file(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setenv("POST001_DATA_DIR", str(tmp_path / "data"))
    quick = State().local_store()
    assert quick is not None
    assert quick[0] == State().url() == f"sqlite:///{tmp_path / 'data' / 'post001.db'}"


@pytest.mark.parametrize("text", [
    "autosave_delay = 2\n", "[flags]\nenable_validation = true\n", "user = 5\n",
    "database_url = [1]\n", "= broken\n",
])
def test_what_only_settings_can_check_is_left_to_them(tmp_path: Path, text: str) -> None:
    """The peek answers None (the full path then reads and checks) rather than guess."""
    import os

    config = Path(os.environ["POST001_CONFIG"])
    config.write_text(text)
    assert locations.peek_store_settings() is None
    assert State().local_store() is None


@pytest.mark.parametrize("name", ["POST001_SCHEDULER_INTERVAL", "post001_autosave_delay",
                                  "ROLLOUT_PERCENTAGE", "enable_validation"])
def test_checked_settings_in_the_environment_are_left_to_settings(
        monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "1")
    assert locations.peek_store_settings() is None


def test_every_setting_and_flag_is_classified() -> None:
    """A new field of Settings or FeatureFlags must be placed in post001.core.locations:
    read by the peek (a plain string) or left to the full path."""
    assert sorted(Settings.model_fields) == sorted(
        locations.STORE_FIELDS + locations.CHECKED_FIELDS)
    for name in locations.STORE_FIELDS:
        assert Settings.model_fields[name].annotation in (str, str | None), name
    assert sorted(FeatureFlags.model_fields) == sorted(locations.FLAG_ENV)
