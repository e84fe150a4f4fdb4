"""Every failure as `{"error": {...}}` with the status that fits; never a 500 for input.

The body is `Post001Error.to_dict()`, so the remote store rebuilds the very exception
(and message) a local store would have raised. Categories map to statuses:
validation 422 (400 for a body that is not JSON at all), permission 403 (401 without a
valid token), not_found 404, conflict 409 (412 when an If-Match was stale), network and
database 503. Oversized bodies get 413, too many sign-ins 429.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from post001.core.errors import ConflictError, Post001Error, ValidationError
from post001.core.validation import describe

log = logging.getLogger("post001.server")

STATUS_BY_CATEGORY = {
    "validation": 422,
    "permission": 403,
    "not_found": 404,
    "conflict": 409,
    "network": 503,
    "database": 503,
}


class ErrorDetail(BaseModel):
    category: str
    message: str
    field: str | None = None
    collective: str | None = None
    actions: list[str] | None = None
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


#: Documented on every route so clients (and schemathesis) know the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [
        (400, "Malformed request (not JSON, bad header)"),
        (401, "No valid token"),
        (403, "Not allowed"),
        (404, "Not found (or not visible to you)"),
        (405, "Method not allowed"),
        (409, "Conflict (changed elsewhere, or the same publish still running)"),
        (412, "If-Match is stale: the body carries the current version"),
        (413, "Request body too large"),
        (422, "Invalid value: the body names the field"),
        (428, "If-Match required"),
        (429, "Too many attempts"),
        (503, "Database unavailable"),
    ]
}


#: Seconds a client is asked to wait after a 503 (the database is unavailable).
RETRY_AFTER_UNAVAILABLE = 2


class PreconditionRequired(ValidationError):
    http_status = 428


class MalformedRequest(ValidationError):
    http_status = 400


def error_response(err: Post001Error, status: int, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    return JSONResponse({"error": err.to_dict()}, status_code=status, headers=headers)


def status_for(err: Post001Error, request: Request | None = None) -> int:
    explicit = getattr(err, "http_status", None)
    if isinstance(explicit, int):
        return explicit
    if (isinstance(err, ConflictError) and request is not None
            and "if-match" in request.headers and err.current_version > 0):
        return 412
    return STATUS_BY_CATEGORY.get(err.category, 503)


async def _post001_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Post001Error)
    status = status_for(exc, request)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    elif status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    if status >= 500:
        log.warning("%s %s -> %s: %s", request.method, request.url.path, status, exc.message)
    return error_response(exc, status, headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
    parts = tuple(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return parts


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        err: ValidationError = MalformedRequest(
            "The request body is not valid JSON.", field="body",
            details={"errors": [{"field": "body", "message": str(e.get("msg", ""))}
                                for e in errors][:5]})
        return error_response(err, 400)
    problems = [describe({**e, "loc": _field(e.get("loc", ()))}) for e in errors]
    message = "; ".join(text for _, text in problems) or "invalid input"
    err = ValidationError(
        message, field=problems[0][0] if problems else None,
        details={"errors": [{"field": f, "message": m} for f, m in problems][:20]})
    return error_response(err, 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    err: Post001Error
    if status == 404:
        from post001.core.errors import NotFoundError

        err = NotFoundError(f"No such endpoint: {request.method} {request.url.path}",
                            actions=["See /openapi.json for the API."])
    elif status == 405:
        err = ValidationError(f"{request.method} is not allowed on {request.url.path}.")
    elif status in (401, 403):
        from post001.server.auth import AuthError

        err = AuthError(str(exc.detail))
        status = 401
    else:
        err = ValidationError(str(exc.detail))
    return error_response(err, status, dict(exc.headers or {}))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A driver error that escaped a store (sign-in and token checks talk to the database
    directly): a value the database cannot take is the client's 422; anything else means
    the database is unavailable, a 503 with Retry-After like every other route's."""
    from post001.core.errors import DatabaseError

    assert isinstance(exc, sa_exc.DBAPIError)
    err: Post001Error
    if isinstance(exc, sa_exc.DataError):
        err = ValidationError("A value in the request cannot be stored or looked up.")
        return error_response(err, 422)
    err = DatabaseError("The database is unavailable; try again shortly.")
    # With the traceback (post001/core/logs.py scrubs tokens, hashes and parameters):
    # an operator needs to know why the database refused.
    log.warning("%s %s -> 503: %s", request.method, request.url.path,
                type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__,
                exc_info=exc)
    return error_response(err, 503, {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})


async def _no_connection(request: Request, exc: Exception) -> JSONResponse:
    """Every pooled connection stayed busy for POST001_SERVER_POOL_TIMEOUT: overload,
    not a fault of the client's request (docs/server.md, "Sizing the pools")."""
    from post001.core.errors import DatabaseError

    log.warning("%s %s -> 503: no free database connection", request.method,
                request.url.path)
    err = DatabaseError("The server is busy (no free database connection); try again "
                        "shortly.")
    return error_response(err, 503, {"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not the client's doing: logged with the request id, reported without detail.
    request_id = getattr(request.state, "request_id", None)
    log.exception("unhandled error in %s %s (request %s)", request.method,
                  request.url.path, request_id)
    from post001.core.errors import DatabaseError

    return error_response(DatabaseError(f"Internal error (request {request_id})."), 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Post001Error, _post001_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.DBAPIError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _no_connection)
    app.add_exception_handler(Exception, _unexpected)
