"""The store interface over HTTP: a post001 server acting as the token's user.

One `httpx.Client` per process serves every RemoteStore (connection pooling; the token
travels per request, so stores for different servers or users share it). Requests carry
timeouts; failures to connect raise NetworkError.

Retries (exponential backoff with jitter) happen only where repeating cannot apply a
change twice or report a false conflict: reads, and the writes that carry an identity
the server recognises on a repeat. Every create sends a client-made post id, every save
an `Idempotency-Key` naming the save (a repeat of an applied save answers with the
version it made, not 412), and every publish an `Idempotency-Key`. Other writes are
sent once: after a lost answer the caller decides.

The server's `{"error": {...}}` bodies become the same exception classes with the same
messages a local store raises.
"""

from __future__ import annotations

import atexit
import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel, TypeAdapter

from post001.core import credentials
from post001.core.config import FeatureFlags
from post001.core.errors import DatabaseError, NetworkError, PermissionDenied, Post001Error
from post001.core.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    AuditEvent,
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    Post,
    PostCreate,
    PostPage,
    PostStatus,
    PostSummary,
    PostUpdate,
    Preflight,
    PublishResult,
    ReviewItem,
    Revision,
    Role,
    User,
)
from post001.core.paging import check_limit
from post001.core.servers import ServerEntry
from post001.core.store import CollectiveSort, Store
from post001.core.validation import parse

API = "/api/v1"
PAGE_SIZE = 200  # the server's cap; lists are fetched page by page up to it
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0, pool=10.0)
RETRY_STATUSES = frozenset({429, 502, 503, 504})

M = TypeVar("M", bound=BaseModel)

_shared_lock = threading.Lock()
_shared_client: httpx.Client | None = None


def _close_shared_client() -> None:
    with _shared_lock:
        if _shared_client is not None:
            _shared_client.close()


def shared_client() -> httpx.Client:
    """The process's one client (created on first use, never at import)."""
    global _shared_client
    with _shared_lock:
        if _shared_client is None or _shared_client.is_closed:
            if _shared_client is None:
                atexit.register(_close_shared_client)
            _shared_client = httpx.Client(
                timeout=DEFAULT_TIMEOUT,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                headers={"User-Agent": "post001"},
            )
        return _shared_client


def _seg(value: str) -> str:
    """A path segment, escaped (slugs and usernames are plain, but never trust that)."""
    return quote(str(value), safe="")


class RemoteStore(Store):
    """Every use case of post001 against a server, acting as the token's user."""

    is_remote: ClassVar[bool] = True

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = credentials.normalize_server_url(base_url)
        self.location = self.base_url
        self._token = token
        self._own_client: httpx.Client | None = None
        if client is not None:
            self._client = client
        elif transport is not None:
            self._own_client = httpx.Client(transport=transport, timeout=DEFAULT_TIMEOUT)
            self._client = self._own_client
        else:
            self._client = shared_client()
        self._timeout = timeout
        self._attempts = max(1, retries + 1)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._settings: dict[str, Any] | None = None
        #: How the user named this server, and where its token came from (set by
        #: open_remote_store; for `post001 status` and the app's header).
        self.server: ServerEntry = ServerEntry(url=self.base_url)
        self.token_source: credentials.FoundToken | None = None

    # --- transport --------------------------------------------------------------------
    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.isdigit():
                return min(float(retry_after), self._max_backoff)
        ceiling = min(self._max_backoff, self._backoff * (2**attempt))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # "equal jitter"

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        if retry is None:
            retry = method == "GET" or any(h.lower() == "idempotency-key" for h in all_headers)
        attempts = self._attempts if retry else 1
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.base_url + path
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                kwargs: dict[str, Any] = {}
                if self._timeout is not None:
                    kwargs["timeout"] = self._timeout
                response = self._client.request(
                    method, url, params=clean_params, json=json, headers=all_headers, **kwargs
                )
            except httpx.TransportError as exc:
                if not last:
                    self._sleep(self._delay(attempt, None))
                    continue
                raise NetworkError(
                    f"cannot reach the post001 server at {self.base_url}: "
                    f"{type(exc).__name__}{': ' + str(exc) if str(exc) else ''}"
                ) from exc
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(self._delay(attempt, response))
                continue
            if response.is_error:
                raise self._error(response)
            return response
        raise NetworkError(f"cannot reach the post001 server at {self.base_url}")  # unreachable

    def _error(self, response: httpx.Response) -> Post001Error:
        body: Any = None
        with contextlib.suppress(ValueError):
            body = response.json()
        status = response.status_code
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            err = Post001Error.from_dict(body["error"])
            if status == 401:  # the token itself was refused (not a rule about the post)
                err.details["status"] = 401
            return err
        if status == 401:
            return PermissionDenied(
                "the server did not accept your token",
                actions=[f"Run `post001 login {self.base_url}`"],
                details={"status": 401},
            )
        if status >= 500 or status in (429, 408):
            return NetworkError(f"the post001 server answered {status}; try again shortly")
        return DatabaseError(f"unexpected answer from the post001 server: HTTP {status}")

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params).json()

    def _one(self, model: type[M], data: Any) -> M:
        return model.model_validate(data)

    def _many(self, model: type[M], data: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]

    def _paged(self, model: type[M], path: str, limit: int | None = None, **params: Any) -> list[M]:
        """Fetch page after page (the server caps page size) until `limit` or the end."""
        out: list[M] = []
        offset = 0
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(out))
            if size <= 0:
                return out
            page = self._many(model, self._get(path, offset=offset, limit=size, **params))
            out.extend(page)
            offset += len(page)
            if len(page) < size:
                return out

    def _settings_doc(self) -> dict[str, Any]:
        if self._settings is None:
            self._settings = dict(self._get(f"{API}/me/settings"))
        return self._settings

    # --- identity -----------------------------------------------------------------------
    def me(self) -> User:
        return self._one(User, self._get(f"{API}/me"))

    def flags(self) -> FeatureFlags:
        raw = self._settings_doc()["flags"]
        return FeatureFlags(
            enable_multi_collective=raw["multi_collective_posts"],
            enable_enhanced_editor=raw["enhanced_editor"],
            enable_validation=raw["validation"],
            rollout_percentage=raw["rollout_percentage"],
        )

    def multi_collective(self) -> bool:
        return bool(self._settings_doc()["multi_collective"])

    def limits(self) -> tuple[int, int]:
        doc = self._settings_doc()
        return int(doc["max_collectives_per_post"]), int(doc["max_content_chars"])

    # --- users --------------------------------------------------------------------------
    def add_user(self, username: str, display_name: str = "") -> User:
        body = {"username": username, "display_name": display_name}
        return self._one(User, self._request("POST", f"{API}/users", json=body).json())

    def list_users(self) -> list[User]:
        return self._paged(User, f"{API}/users")

    # --- collectives --------------------------------------------------------------------
    def create_collective(self, data: CollectiveCreate) -> Collective:
        body = data.model_dump(mode="json")
        return self._one(Collective, self._request("POST", f"{API}/collectives", json=body).json())

    def get_collective(self, slug: str) -> Collective:
        return self._one(Collective, self._get(f"{API}/collectives/{_seg(slug)}"))

    def update_collective(self, slug: str, data: CollectiveUpdate) -> Collective:
        body = data.model_dump(mode="json", exclude_unset=True)
        response = self._request("PATCH", f"{API}/collectives/{_seg(slug)}", json=body)
        return self._one(Collective, response.json())

    def my_collectives(
        self,
        query: str = "",
        *,
        postable_only: bool = False,
        sort: CollectiveSort = "role",
        limit: int | None = None,
    ) -> list[Membership]:
        return self._paged(
            Membership,
            f"{API}/collectives",
            limit,
            query=query or None,
            postable_only=postable_only,
            sort=sort,
        )

    def reach(self, slugs: Sequence[str]) -> int:
        return int(self._get(f"{API}/reach", collective=list(slugs))["reach"])

    def members(self, slug: str) -> list[Member]:
        return self._paged(Member, f"{API}/collectives/{_seg(slug)}/members")

    def add_member(self, slug: str, username: str, role: Role = Role.MEMBER) -> Member:
        body = {"username": username, "role": Role(role).value}
        response = self._request("POST", f"{API}/collectives/{_seg(slug)}/members", json=body)
        return self._one(Member, response.json())

    def set_role(self, slug: str, username: str, role: Role) -> Member:
        path = f"{API}/collectives/{_seg(slug)}/members/{_seg(username)}"
        response = self._request("PUT", path, json={"role": Role(role).value})
        return self._one(Member, response.json())

    def remove_member(self, slug: str, username: str) -> None:
        self._request("DELETE", f"{API}/collectives/{_seg(slug)}/members/{_seg(username)}")

    def feed(self, slug: str, *, limit: int = 50) -> list[PostSummary]:
        return self._paged(PostSummary, f"{API}/collectives/{_seg(slug)}/feed", limit)

    # --- posts --------------------------------------------------------------------------
    def create_post(self, data: PostCreate | None = None) -> Post:
        data = parse(PostCreate, data) if data is not None else PostCreate()
        body = data.model_dump(mode="json", exclude_unset=True)
        # A client-made id makes the create safe to repeat after a lost answer.
        body["id"] = str(data.id or uuid.uuid4())
        response = self._request("POST", f"{API}/posts", json=body, retry=True)
        return self._one(Post, response.json())

    def get_post(self, post_id: UUID) -> Post:
        return self._one(Post, self._get(f"{API}/posts/{post_id}"))

    def list_posts(self, status: PostStatus | None = None) -> list[PostSummary]:
        out: list[PostSummary] = []
        cursor: str | None = None
        while True:
            page = self.posts_page(MAX_PAGE_SIZE, cursor, status=status)
            out.extend(page.items)
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor

    def posts_page(self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None, *,
                   status: PostStatus | None = None) -> PostPage:
        params: dict[str, Any] = {"limit": check_limit(limit)}
        if cursor:
            params["cursor"] = cursor
        if status is not None:
            params["status"] = PostStatus(status).value
        return self._one(PostPage, self._get(f"{API}/posts", **params))

    def delete_post(self, post_id: UUID) -> None:
        self._request("DELETE", f"{API}/posts/{post_id}")

    def _save_headers(self, expected_version: int, save_id: UUID | None) -> dict[str, str]:
        return {"If-Match": f'"{int(expected_version)}"',
                "Idempotency-Key": str(save_id or uuid.uuid4())}

    def update_post(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                    save_id: UUID | None = None) -> Post:
        # Checked here as the server would: a value JSON cannot carry (metadata nested
        # too deep, NaN) is the caller's ValidationError, not a serializer crash.
        body = parse(PostUpdate, changes).model_dump(mode="json", exclude_unset=True)
        response = self._request("PATCH", f"{API}/posts/{post_id}", json=body,
                                 headers=self._save_headers(expected_version, save_id))
        return self._one(Post, response.json())

    def save_draft(self, post_id: UUID, changes: PostUpdate, *, expected_version: int,
                   save_id: UUID | None = None) -> int:
        # Checked here as the server would: a value JSON cannot carry (metadata nested
        # too deep, NaN) is the caller's ValidationError, not a serializer crash.
        body = parse(PostUpdate, changes).model_dump(mode="json", exclude_unset=True)
        response = self._request("PATCH", f"{API}/posts/{post_id}/draft", json=body,
                                 headers=self._save_headers(expected_version, save_id))
        return int(response.json()["version"])

    def archive_post(self, post_id: UUID) -> Post:
        return self._one(Post, self._request("POST", f"{API}/posts/{post_id}/archive").json())

    def revisions(self, post_id: UUID) -> list[Revision]:
        return self._paged(Revision, f"{API}/posts/{post_id}/revisions")

    def restore_revision(self, post_id: UUID, version: int) -> Post:
        path = f"{API}/posts/{post_id}/revisions/{int(version)}/restore"
        return self._one(Post, self._request("POST", path).json())

    # --- shares -------------------------------------------------------------------------
    def set_collectives(self, post_id: UUID, slugs: Sequence[str]) -> Post:
        body = {"collectives": list(slugs)}
        response = self._request("PUT", f"{API}/posts/{post_id}/collectives", json=body)
        return self._one(Post, response.json())

    def add_share(self, post_id: UUID, slug: str) -> Post:
        path = f"{API}/posts/{post_id}/collectives/{_seg(slug)}"
        return self._one(Post, self._request("PUT", path).json())

    def remove_share(self, post_id: UUID, slug: str) -> Post | None:
        path = f"{API}/posts/{post_id}/collectives/{_seg(slug)}"
        response = self._request("DELETE", path)
        if response.status_code == 204 or not response.content:
            return None
        return self._one(Post, response.json())

    # --- publishing ---------------------------------------------------------------------
    def preflight(self, post_id: UUID) -> Preflight:
        return self._one(Preflight, self._get(f"{API}/posts/{post_id}/preflight"))

    def publish(self, post_id: UUID, *, idempotency_key: str | None = None) -> PublishResult:
        # Without a caller's key, one is made up here so that a retry after a lost answer
        # returns the first result instead of publishing twice.
        key = idempotency_key or f"auto-{uuid.uuid4()}"
        response = self._request(
            "POST", f"{API}/posts/{post_id}/publish", headers={"Idempotency-Key": key}
        )
        return self._one(PublishResult, response.json())

    def unpublish(self, post_id: UUID) -> Post:
        return self._one(Post, self._request("POST", f"{API}/posts/{post_id}/unpublish").json())

    def publish_due(self, now: datetime | None = None) -> list[UUID]:
        """Ask the server to run its scheduler now. A `now` later than the server's clock
        is honoured only by a server that trusts client clocks (a test server)."""
        body = {"now": now.isoformat()} if now is not None else None
        data = self._request("POST", f"{API}/scheduler/run", json=body).json()
        return [UUID(str(v)) for v in data["published"]]

    # --- reviews ------------------------------------------------------------------------
    def pending_reviews(self, slug: str | None = None) -> list[ReviewItem]:
        return self._paged(ReviewItem, f"{API}/reviews", collective=slug)

    def _decide(self, post_id: UUID, slug: str, action: str, body: Any = None) -> Post:
        path = f"{API}/posts/{post_id}/collectives/{_seg(slug)}/{action}"
        return self._one(Post, self._request("POST", path, json=body).json())

    def approve(self, post_id: UUID, slug: str) -> Post:
        return self._decide(post_id, slug, "approve")

    def reject(self, post_id: UUID, slug: str, reason: str) -> Post:
        return self._decide(post_id, slug, "reject", {"reason": reason})

    def resubmit(self, post_id: UUID, slug: str) -> Post:
        return self._decide(post_id, slug, "resubmit")

    # --- audit and search ---------------------------------------------------------------
    def audit(
        self,
        *,
        post_id: UUID | None = None,
        collective: str | None = None,
        actor: str | None = None,
        limit: int = 200,
    ) -> list[AuditEvent]:
        return self._paged(
            AuditEvent,
            f"{API}/audit",
            limit,
            post_id=str(post_id) if post_id else None,
            collective=collective,
            actor=actor,
        )

    def search(self, query: str, *, limit: int = 50) -> list[PostSummary]:
        return self._paged(PostSummary, f"{API}/search", limit, q=query)

    # --- tokens (not part of Store: login, logout and whoami use them) ------------------
    def revoke_current_token(self) -> None:
        self._request("DELETE", f"{API}/auth/token")

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None


def request_token(
    base_url: str,
    username: str,
    password: str,
    *,
    name: str = "post001 login",
    transport: httpx.BaseTransport | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Exchange a username and password for a token (`POST /api/v1/auth/token`)."""
    url = credentials.normalize_server_url(base_url) + f"{API}/auth/token"
    body = {"username": username, "password": password, "name": name}
    client = httpx.Client(transport=transport, timeout=DEFAULT_TIMEOUT) if transport else None
    extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
    try:
        response = (client or shared_client()).post(url, json=body, **extra)
    except httpx.TransportError as exc:
        raise NetworkError(f"cannot reach the post001 server at {base_url}: {exc}") from exc
    finally:
        if client is not None:
            client.close()
    if response.is_error:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            raise Post001Error.from_dict(payload["error"])
        raise NetworkError(f"the post001 server answered {response.status_code}")
    return dict(response.json())


REMOTE_OPTIONS = frozenset({"client", "transport", "timeout", "retries", "backoff",
                            "max_backoff", "sleep"})
OFFLINE_OPTIONS = frozenset({"journal_path", "replay_every", "replay_wait"})


def open_remote_store(
    url: str,
    *,
    token: str | None = None,
    token_file: str | None = None,
    offline: bool = False,
    fallback_token: str | None = None,
    **options: Any,
) -> RemoteStore:
    """A RemoteStore for `url` (a server URL or a name from config.toml's [servers]);
    the token comes from post001.core.credentials' one lookup. `offline=True` gives an
    OfflineStore, which keeps writes in the journal while the server is unreachable."""
    from post001.core import servers

    entry = servers.find(url)
    found = credentials.find_token(entry, token=token, token_file=token_file)
    if found is None and fallback_token:
        found = credentials.FoundToken(fallback_token, "explicit")
    if found is None:
        raise credentials.missing_token_error(entry)
    known = REMOTE_OPTIONS | (OFFLINE_OPTIONS if offline else frozenset())
    kwargs = {k: v for k, v in options.items() if k in known}
    store: RemoteStore
    if offline:
        from post001.core.offline import OfflineStore

        store = OfflineStore(entry.url, token=found.token, **kwargs)
    else:
        store = RemoteStore(entry.url, token=found.token, **kwargs)
    store.server = entry
    store.token_source = found
    return store
