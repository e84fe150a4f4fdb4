"""Write the user's preferences back to the TOML config file, keeping every other key.

The file also holds what `post001 login` recorded ([servers.*] tables) and the user's
own comments: post001.core.config_file edits it in place and writes it atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_preferences(path: Path, changes: dict[str, Any]) -> None:
    """Merge `changes` into the top level of the TOML file at `path` (atomically)."""
    from post001.core.config_file import update_config

    def change(document: Any) -> None:
        for key, value in changes.items():
            document[key] = value

    update_config(change, path)
