"""The store contract suite, run on the remote store (see tests/server/conftest.py's
`open_store`): in-process through the ASGI transport, and over TCP to a real uvicorn."""

from test_store_contract import *  # noqa: F403
