"""Slow and oversized requests against a real uvicorn run as `post001 serve` runs it
(post001/server/http.py): the server closes connections whose headers or body do not
arrive in time, and refuses too many or too large headers. Each test waits on the
server's answer or on the connection closing, with a generous deadline; none sleeps."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from remote_support import live_server, make_test_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEADLINE = 30.0  # generous: the server's own limits in these tests are fractions of it


@pytest.fixture
def server(pg_url: str, clock: Any) -> Iterator[tuple[str, int]]:
    app = make_test_app(pg_url, clock, header_timeout_seconds=0.5, body_timeout_seconds=0.5,
                        max_header_count=50)
    with live_server(app) as url:
        parts = urlsplit(url)
        yield parts.hostname or "127.0.0.1", parts.port or 80


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=DEADLINE)
    return sock


def _closed_by_server(sock: socket.socket, drip: bytes = b"") -> bytes:
    """Read until the server closes the connection (what it sent first, if anything);
    with `drip`, send one byte of it each time nothing arrived within 0.1 s, the way a
    slowloris client keeps a connection busy. Fails if the deadline passes first."""
    received = b""
    deadline = time.monotonic() + DEADLINE
    sock.settimeout(0.1 if drip else DEADLINE)
    position = 0
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if drip:
                try:
                    sock.sendall(drip[position % len(drip):position % len(drip) + 1])
                except OSError:
                    return received
                position += 1
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the server kept the connection open for {DEADLINE} s")


def test_headers_that_never_finish_are_cut_off(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n")
        assert _closed_by_server(sock, drip=b"X-Slow: a\r\n") == b""


def test_a_connection_that_sends_nothing_is_cut_off(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        assert _closed_by_server(sock) == b""


def test_a_body_that_never_finishes_is_cut_off(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: test\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                     b'{"username": ')
        assert b" 200 " not in _closed_by_server(sock, drip=b" ")


def test_a_slow_next_request_on_a_kept_alive_connection_is_cut_off(
        server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/health HTTP/1.1\r\n")
        _closed_by_server(sock, drip=b"X-Slow: a\r\n")


def test_too_many_headers_get_431(server: tuple[str, int]) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    with _connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n" + headers + b"\r\n")
        answer = b""
        while b"}" not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431")
    assert b'"field": "headers"' in answer


def test_oversized_headers_are_refused(server: tuple[str, int]) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\nX-Big: "
                     + b"a" * 64 * 1024 + b"\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    # 431 from the guard when the block arrived whole, 400 from h11 when it was cut
    assert answer.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400")), answer[:100]


def test_headers_that_grow_past_the_limit_close_the_connection(server: tuple[str, int]
                                                               ) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: test\r\n")
        for _ in range(40):  # never the blank line: h11 holds an incomplete block
            try:
                sock.sendall(b"X-Big: " + b"a" * 1024 + b"\r\n")
            except OSError:
                break
        assert _closed_by_server(sock).startswith(b"HTTP/1.1 400")
