"""One plain ASGI middleware: request ids, the body size limit, timing metrics and the
access log.

Written against raw ASGI (not BaseHTTPMiddleware) so it adds microseconds, and so an
oversized body is refused before any of it reaches a handler. The request id is also
put in `post001.core.logs.REQUEST_ID`, so every log line written while serving the
request carries it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from post001.core.logs import REQUEST_ID
from post001.server import metrics as prom

access_log = logging.getLogger("post001.access")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(slots=True)
class Sample:
    at: float
    method: str
    path: str
    status: int
    ms: float


class Metrics:
    """Recent requests (a bounded window) for /api/health/post-creation."""

    def __init__(self, window_seconds: float = 300.0, max_samples: int = 20_000) -> None:
        self.window_seconds = window_seconds
        self._samples: deque[Sample] = deque(maxlen=max_samples)
        self._lock = threading.Lock()

    def record(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)

    def recent(self) -> list[Sample]:
        cutoff = time.monotonic() - self.window_seconds
        with self._lock:
            return [s for s in self._samples if s.at >= cutoff]


def _error_body(status: int, message: str, details: dict[str, Any], field: str = "body"
                ) -> bytes:
    return json.dumps({"error": {"category": "validation", "message": message,
                                 "field": field, "details": details}}).encode()


def nul_in_url(scope: Scope) -> str | None:
    """The URL part that carries a NUL character (`path`, or the query parameter's
    name), or None. No database can look such a value up; refusing it here gives every
    route the same 422 instead of a driver error."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "query"
        return "query"
    return None


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics,
                 max_header_count: int = 100, max_header_bytes: int = 16 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_count = max_header_count
        self.max_header_bytes = max_header_bytes
        self.metrics = metrics

    async def _too_large(self, send: Send, size: int | None, request_id: str) -> None:
        limit = self.max_body_bytes
        text = (f"The request body is {size:,} bytes; the limit is {limit:,}." if size
                else f"The request body is over the limit of {limit:,} bytes.")
        body = _error_body(413, text, {"limit": limit, **({"size": size} if size else {})})
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})

    async def _refuse(self, send: Send, status: int, field: str, message: str,
                      request_id: str) -> None:
        body = _error_body(status, message, {}, field)
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # Not reset on the way out: the server's error handler (outside this middleware)
        # logs with it too; each request runs in a task of its own, so it ends there.
        REQUEST_ID.set(request_id)
        status_holder = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            # h11 caps a header block only while it is incomplete; a block that arrives
            # whole is measured here.
            raw = scope.get("headers") or []
            count, size = len(raw), sum(len(k) + len(v) for k, v in raw)
            if count > self.max_header_count or size > self.max_header_bytes:
                status_holder[0] = 431
                await self._refuse(send, 431, "headers", f"The request has {count} headers "
                                   f"({size:,} bytes); the limits are {self.max_header_count} "
                                   f"and {self.max_header_bytes:,} bytes.", request_id)
                return
            bad = nul_in_url(scope)
            if bad is not None:
                status_holder[0] = 422
                await self._refuse(send, 422, bad, f"{bad} contains a NUL character "
                                   "(%00), which no value here may hold.", request_id)
                return
            length = headers.get(b"content-length")
            if length is not None:
                try:
                    size = int(length)
                except ValueError:
                    size = -1
                if size > self.max_body_bytes:
                    status_holder[0] = 413
                    await self._too_large(send, size, request_id)
                    return
            if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE") and length is None:
                # No declared length (chunked): read it here, up to the limit.
                chunks: list[bytes] = []
                total = 0
                more = True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    total += len(chunk)
                    if total > self.max_body_bytes:
                        status_holder[0] = 413
                        await self._too_large(send, None, request_id)
                        return
                    chunks.append(chunk)
                    more = bool(message.get("more_body"))
                body = b"".join(chunks)
                replayed = [False]

                async def replay() -> Message:
                    if not replayed[0]:
                        replayed[0] = True
                        return {"type": "http.request", "body": body, "more_body": False}
                    return await receive()

                await self.app(scope, replay, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.monotonic() - started
            route = getattr(scope.get("route"), "path", None)
            method = scope.get("method", "")
            status = status_holder[0]
            self.metrics.record(Sample(at=started, method=method,
                                       path=route or scope.get("path", ""), status=status,
                                       ms=seconds * 1000))
            prom.request_done(method, route, status, seconds)
            client = scope.get("client")
            # The path, not the query string: nothing a client puts there is logged.
            access_log.info("%s %s %d %.1fms", method, scope.get("path", ""), status,
                            seconds * 1000, extra={
                                "method": method, "route": route or prom.UNMATCHED,
                                "status": status, "duration_ms": round(seconds * 1000, 2),
                                "client": client[0] if client else None})
