"""The post001 team server: FastAPI over the same store every other front end uses.

Import is cheap and side-effect free: nothing connects until `create_app()` is called.
"""

from post001.server.app import create_app

__all__ = ["create_app"]
