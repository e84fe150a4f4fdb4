"""`GET /metrics`: Prometheus text, for loopback or a holder of the metrics token.

Who may scrape: a request carrying `Authorization: Bearer <POST001_SERVER_METRICS_TOKEN>`,
or one from a loopback address that did not come through a proxy (a reverse proxy on
the same machine makes every request look local, so a forwarded request needs the
token too). The figures (routes, volumes, error rates) are not for the public.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request, Response

from post001.core.errors import PermissionDenied
from post001.server import metrics
from post001.server.auth import AuthError
from post001.server.context import Ctx

router = APIRouter(tags=["metrics"])
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _loopback(request: Request) -> bool:
    if any(h in request.headers for h in _PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(request: Request, token: str | None) -> None:
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if given:
        if token and scheme.lower() == "bearer" and hmac.compare_digest(
                credentials.strip().encode(), token.encode()):
            return
        raise AuthError("The metrics token is not valid.",
                        actions=["Send Authorization: Bearer <POST001_SERVER_METRICS_TOKEN>."])
    if _loopback(request):
        return
    raise PermissionDenied(
        "/metrics answers loopback requests, or requests with the metrics token.",
        actions=["Set POST001_SERVER_METRICS_TOKEN on the server and send it as "
                 "Authorization: Bearer <token>, or scrape from the server's machine."])


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, ctx: Ctx) -> Response:
    secret = ctx.server.metrics_token
    check_access(request, secret.get_secret_value() if secret else None)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)
