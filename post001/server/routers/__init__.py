"""HTTP routes, one module per resource; each turns a request into one store call."""

from __future__ import annotations

from fastapi import APIRouter, Response

from post001.core.models import Post
from post001.server.context import OneTransactionRoute
from post001.server.errors import ERROR_RESPONSES

API_PREFIX = "/api/v1"


def api_router(tag: str) -> APIRouter:
    return APIRouter(prefix=API_PREFIX, tags=[tag], responses=ERROR_RESPONSES,
                     route_class=OneTransactionRoute)


def etag(response: Response, post: Post) -> Post:
    """Posts carry their version as a strong ETag: the If-Match of the next update."""
    response.headers["ETag"] = f'"{post.version}"'
    return post
