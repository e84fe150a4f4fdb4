"""The app in-process for tests that care where a request comes from (loopback or not)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from post001.core.config import Settings
from post001.server.config import ServerSettings


@contextlib.contextmanager
def app_client(url: str, *, host: str = "127.0.0.1", token: str | None = None,
               ) -> Iterator[tuple[Any, httpx.Client]]:
    """The app in-process, requests arriving from `host`."""
    import anyio.from_thread

    from post001.server.app import create_app

    server = ServerSettings(metrics_token=token) if token else ServerSettings()
    app = create_app(Settings(), database_url=url, server=server, scheduler=False)

    class Transport(httpx.BaseTransport):
        def __init__(self, portal: Any) -> None:
            self.inner = httpx.ASGITransport(app=app, client=(host, 50000),
                                               raise_app_exceptions=False)
            self.portal = portal

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            body = request.read()

            async def go() -> httpx.Response:
                response = await self.inner.handle_async_request(httpx.Request(
                    request.method, request.url, headers=request.headers, content=body))
                content = b"".join([c async for c in response.stream])  # type: ignore[union-attr]
                return httpx.Response(response.status_code, headers=response.headers,
                                      content=content, request=request)

            return self.portal.call(go)

    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.Client(transport=Transport(portal), base_url="http://testserver")
        try:
            yield app, client
        finally:
            client.close()
            app.state.ctx.close()
