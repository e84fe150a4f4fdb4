"""The post001 team server: FastAPI over the same store every other front end uses.

Import is cheap and side-effect free: nothing connects until `create_app()` is called,
and FastAPI is imported only then, so `post001.server.cli` loads (and says which extra
to install) where the server's packages are missing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from post001.server.app import create_app

        return create_app
    raise AttributeError(name)
