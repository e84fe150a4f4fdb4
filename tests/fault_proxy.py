"""A loopback TCP proxy that injects the faults a flaky network produces.

It sits between a client and a real server and, per HTTP exchange (a request, then its
response, on a keep-alive connection), can:

- drop the response after the server has applied the request: the server's first
  response bytes are read (so its transaction has committed) and, instead of being
  forwarded, both connections are reset;
- reset connections before the request reaches the server;
- delay each exchange;
- go down (refuse connections, as a stopped server does) and come back on the same port.

It runs its own asyncio loop in a daemon thread; tests drive it from synchronous code.
Exchanges are found by direction changes: client bytes after server bytes start a new
request (HTTP/1.1 without pipelining, which is what httpx sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

#: decide(n) -> True to drop the response of the n-th exchange (1-based, across
#: connections).
Policy = Callable[[int], bool]


def never(_n: int) -> bool:
    return False


def every_other(n: int) -> bool:
    """Drop the 2nd, 4th, 6th ... response."""
    return n % 2 == 0


@dataclass
class ProxyStats:
    exchanges: int = 0
    dropped: int = 0
    reset: int = 0
    refused: int = 0
    connections: int = 0
    log: list[str] = field(default_factory=list)


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.drop: Policy = never
        self.reset_requests: Policy = never
        self.delay = 0.0
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # --- control (from any thread) ------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def go_down(self) -> None:
        """Refuse new connections and cut the open ones, like a server that stopped."""
        self._call(self._close_all())

    def come_back(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._close_all())
            self._call(self._cancel_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _cancel_tasks(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _call(self, coro: object) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        future.result(timeout=10)

    # --- the proxy ----------------------------------------------------------------------
    async def _listen(self) -> None:
        if self._server is not None:
            return
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    def _next_exchange(self) -> int:
        with self._lock:
            self.stats.exchanges += 1
            return self.stats.exchanges

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
                      ) -> None:
        self.stats.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_w)
            return
        self._writers.update((client_w, server_w))
        try:
            await self._relay(client_r, client_w, server_r, server_w)
        except (ConnectionError, OSError):
            pass
        finally:
            for writer in (client_w, server_w):
                self._writers.discard(writer)
                _reset(writer)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                     server_r: asyncio.StreamReader, server_w: asyncio.StreamWriter) -> None:
        """Forward both ways. Client bytes after response bytes start a new exchange;
        the first response bytes of an exchange are where a drop happens."""
        exchange = 0
        answering = True  # so the first client bytes start exchange 1
        to_server = asyncio.ensure_future(client_r.read(65536))
        from_server = asyncio.ensure_future(server_r.read(65536))
        try:
            while True:
                done, _ = await asyncio.wait({to_server, from_server},
                                             return_when=asyncio.FIRST_COMPLETED)
                if to_server in done:
                    data = to_server.result()
                    if not data:
                        return
                    if answering:
                        exchange = self._next_exchange()
                        answering = False
                        if self.reset_requests(exchange):
                            self.stats.reset += 1  # the server never sees this request
                            return
                        if self.delay:
                            await asyncio.sleep(self.delay)
                    server_w.write(data)
                    await server_w.drain()
                    to_server = asyncio.ensure_future(client_r.read(65536))
                if from_server in done:
                    data = from_server.result()
                    if not data:
                        return
                    if not answering:
                        answering = True
                        if self.drop(exchange):
                            # The server answered, so it applied the request; the client
                            # never hears of it.
                            self.stats.dropped += 1
                            return
                    client_w.write(data)
                    await client_w.drain()
                    from_server = asyncio.ensure_future(server_r.read(65536))
        finally:
            for task in (to_server, from_server):
                task.cancel()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextlib.contextmanager
def fault_proxy(upstream_url: str) -> Iterator[FaultProxy]:
    """A proxy in front of `upstream_url` (http://127.0.0.1:PORT) for one test."""
    from urllib.parse import urlsplit

    parts = urlsplit(upstream_url)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 80).start()
    try:
        yield proxy
    finally:
        proxy.close()
