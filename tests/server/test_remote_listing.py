"""The listing contract (tests/test_listing.py) on the remote store: in-process through
the ASGI transport, and over TCP to a real uvicorn (see tests/server/conftest.py)."""

from test_listing import *  # noqa: F403
