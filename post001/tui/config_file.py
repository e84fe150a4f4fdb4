"""Write the user's preferences back to the TOML config file, keeping every other key."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def save_preferences(path: Path, changes: dict[str, Any]) -> None:
    """Merge `changes` into the top level of the TOML file at `path` (atomically)."""
    current: dict[str, Any] = {}
    if path.exists():
        current = tomllib.loads(path.read_text(encoding="utf-8"))
    current.update(changes)
    tables = {k: v for k, v in current.items() if isinstance(v, dict)}
    lines = [f"{key} = {_toml_value(value)}" for key, value in current.items()
             if not isinstance(value, dict)]
    for name, table in tables.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
