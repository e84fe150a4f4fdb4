"""HTTP routes, one module per resource; each turns a request into one store call."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

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


def json_response(model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """`model` as the JSON answer, serialized once by pydantic (the route keeps its
    `response_model` for the API's schema). FastAPI would validate the returned model
    against that schema again, turn it into Python data and encode that: on the
    auto-save and publish routes, a large share of each request's CPU."""
    return Response(model.model_dump_json(), media_type="application/json",
                    headers=headers)
