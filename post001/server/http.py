"""How uvicorn runs the server: deadlines for slow clients, header limits, no proxy magic.

uvicorn waits forever for a request's headers and body (its keep-alive timer stops at
the first byte), so one slow client per connection can hold sockets and memory open
indefinitely (slowloris). `GuardedH11Protocol` adds two deadlines to uvicorn's h11
protocol: a request's headers must arrive within `header_timeout_seconds` of the
connection opening (or of the previous response), and its body within
`body_timeout_seconds` of the headers; past either the connection is closed. Once a
request is complete, the app's own time is not limited here.

Header size is capped by h11 (`h11_max_incomplete_event_size`: an oversized header
block gets 400 and the connection closes); header count by the guard middleware (431).

uvicorn's own `proxy_headers` is off: it would believe X-Forwarded-For from any loopback
peer. The client address is worked out by post001/server/throttle.py, which believes
the header only from `POST001_SERVER_TRUSTED_PROXIES`.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from post001.server.config import ServerSettings


@functools.cache
def _settings() -> ServerSettings:
    return ServerSettings()


class GuardedH11Protocol(H11Protocol):
    #: Set by `uvicorn_options` in this process; worker processes read the environment.
    header_timeout: float | None = None
    body_timeout: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = _settings()
        self._header_timeout = self.header_timeout or settings.header_timeout_seconds
        self._body_timeout = self.body_timeout or settings.body_timeout_seconds
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for_body = False

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if not self._waiting_for_body:  # one deadline for the whole body
                self._waiting_for_body = True
                self._arm(self._body_timeout)
        elif state is not h11.IDLE:
            # The request is complete (or the connection is ending): the app's turn.
            self._waiting_for_body = False
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._waiting_for_body = False
            self._arm(self._header_timeout)  # the next request's headers, same deadline


def uvicorn_options(settings: ServerSettings | None = None) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` (serve and the tests)."""
    settings = settings or _settings()
    GuardedH11Protocol.header_timeout = settings.header_timeout_seconds
    GuardedH11Protocol.body_timeout = settings.body_timeout_seconds
    return {
        "http": GuardedH11Protocol,
        "proxy_headers": False,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_keep_alive": 5,
    }
