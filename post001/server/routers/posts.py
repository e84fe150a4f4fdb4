"""Posts, their shares, publishing and moderation decisions.

Updates need `If-Match: "<version>"` (428 without it, 412 when stale, with the current
version in the body). Publish takes an `Idempotency-Key`: the store keeps each key's
result inside the publish transaction (a retry gets it back; a key reused for another
post is 422); this module adds the in-flight case (409 while the first still runs).

Every other write a client may repeat after a lost answer is idempotent too:
`POST /posts` takes a client-made `id` in the body or an `Idempotency-Key` (the post's
id is derived from the key and the user, so a retry returns the same post), and the two
saves (`PATCH /posts/{id}`, `PATCH /posts/{id}/draft`) take an `Idempotency-Key` that
names the save: a repeat of an applied save answers with the version it made.
"""

from __future__ import annotations

from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import Body, Header, Path, Query, Response, status

from post001.core.errors import ConflictError
from post001.core.models import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Post,
    PostCreate,
    PostPage,
    PostStatus,
    PostUpdate,
    Preflight,
    PublishResult,
    Revision,
)
from post001.server import metrics
from post001.server.context import Ctx, PageDep, Principal, StoreDep
from post001.server.errors import MalformedRequest, PreconditionRequired
from post001.server.routers import api_router, etag, json_response
from post001.server.schemas import CollectiveSelection, Rejection, SavedDraft

router = api_router("posts")

SlugPath = Annotated[str, Path(min_length=1, max_length=200)]
IfMatch = Annotated[str | None, Header(description='The post\'s ETag, e.g. "3"',
                                       max_length=100)]


def expected_version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired(
            'This update needs an If-Match header with the version it is based on '
            '(the post\'s ETag, e.g. If-Match: "3").', field="If-Match")
    value = if_match.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit() or len(value) > 9:
        raise MalformedRequest(f'If-Match {if_match!r} is not a post version like "3".',
                               field="If-Match")
    return int(value)


IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=200,
                                              description="Names this write; a repeat "
                                              "with the same key is applied once")]
_KEYS = uuid5(NAMESPACE_URL, "post001:client-writes")


def client_write_id(key: str, scope: str = "") -> UUID:
    """The UUID a client's key stands for: the key itself when it is a UUID (and no
    scope), else derived from it (stable across processes and servers)."""
    if not scope:
        try:
            return UUID(key)
        except ValueError:
            pass
    return uuid5(_KEYS, f"{scope}/{key}")


@router.post("/posts", response_model=Post, status_code=status.HTTP_201_CREATED)
def create_post(store: StoreDep, response: Response, principal: Principal,
                body: Annotated[PostCreate | None, Body()] = None,
                idempotency_key: IdempotencyKey = None) -> Post:
    if idempotency_key is not None and (body is None or body.id is None):
        # Scoped by user: two writers who pick the same key still get two posts.
        body = (body or PostCreate()).model_copy(
            update={"id": client_write_id(idempotency_key, str(principal.user_id))})
    post = store.create_post(body)
    response.headers["Location"] = f"/api/v1/posts/{post.id}"
    return etag(response, post)


@router.get("/posts", response_model=PostPage)
def list_posts(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                                description=f"Page size (at most {MAX_PAGE_SIZE})")
                     ] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200, description="The next_cursor "
                                        "of the page before; none for the first page")
                      ] = None,
    status: PostStatus | None = None,
) -> PostPage:
    """The caller's posts, newest change first, one keyset page at a time."""
    return store.posts_page(limit, cursor, status=status)


@router.get("/posts/{post_id}", response_model=Post)
def get_post(post_id: UUID, store: StoreDep, response: Response) -> Post:
    return etag(response, store.get_post(post_id))


@router.patch("/posts/{post_id}", response_model=Post)
def update_post(post_id: UUID, body: PostUpdate, store: StoreDep, response: Response,
                if_match: IfMatch = None, idempotency_key: IdempotencyKey = None) -> Post:
    version = expected_version(if_match)
    save_id = client_write_id(idempotency_key) if idempotency_key else None
    return etag(response, store.update_post(post_id, body, expected_version=version,
                                            save_id=save_id))


@router.patch("/posts/{post_id}/draft", response_model=SavedDraft)
def save_draft(post_id: UUID, body: PostUpdate, store: StoreDep,
               if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
               ) -> Response:
    """Auto-save: like PATCH /posts/{id} but answers only the new version."""
    save_id = client_write_id(idempotency_key) if idempotency_key else None
    version = store.save_draft(post_id, body, expected_version=expected_version(if_match),
                               save_id=save_id)
    return json_response(SavedDraft(id=post_id, version=version),
                         {"ETag": f'"{version}"'})


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response)
def delete_post(post_id: UUID, store: StoreDep) -> Response:
    """Delete a draft that was never published (422 for anything readers may have seen)."""
    store.delete_post(post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/posts/{post_id}/archive", response_model=Post)
def archive_post(post_id: UUID, store: StoreDep, response: Response) -> Post:
    return etag(response, store.archive_post(post_id))


@router.get("/posts/{post_id}/revisions", response_model=list[Revision])
def revisions(post_id: UUID, store: StoreDep, page: PageDep) -> list[Revision]:
    return page.cut(store.revisions(post_id))


@router.post("/posts/{post_id}/revisions/{version}/restore", response_model=Post)
def restore_revision(post_id: UUID, version: Annotated[int, Path(ge=1, le=2**31 - 1)],
                     store: StoreDep, response: Response) -> Post:
    return etag(response, store.restore_revision(post_id, version))


# --- shares ----------------------------------------------------------------------------


@router.put("/posts/{post_id}/collectives", response_model=Post)
def set_collectives(post_id: UUID, body: CollectiveSelection, store: StoreDep,
                    response: Response) -> Post:
    return etag(response, store.set_collectives(post_id, body.collectives))


@router.put("/posts/{post_id}/collectives/{slug}", response_model=Post)
def add_share(post_id: UUID, slug: SlugPath, store: StoreDep, response: Response) -> Post:
    return etag(response, store.add_share(post_id, slug))


@router.delete("/posts/{post_id}/collectives/{slug}", response_model=Post,
               responses={204: {"description": "Removed; the post is no longer visible to you"}})
def remove_share(post_id: UUID, slug: SlugPath, store: StoreDep, response: Response
                 ) -> Post | Response:
    post = store.remove_share(post_id, slug)
    if post is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return etag(response, post)


# --- publishing ------------------------------------------------------------------------


@router.get("/posts/{post_id}/preflight", response_model=Preflight)
def preflight(post_id: UUID, store: StoreDep) -> Preflight:
    return store.preflight(post_id)


@router.post("/posts/{post_id}/publish", response_model=PublishResult)
def publish(
    post_id: UUID,
    store: StoreDep,
    ctx: Ctx,
    principal: Principal,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> Response:
    headers: dict[str, str] = {}
    if idempotency_key is None:
        result = store.publish(post_id)
    else:
        ctx.begin_publish(principal.user_id, idempotency_key)
        try:
            result = store.publish(post_id, idempotency_key=idempotency_key)
        except ConflictError as err:
            if err.current_version == 0:
                # Another worker committed this key first (its row won the primary key).
                raise ConflictError(
                    "A publish with this Idempotency-Key ran at the same moment; retry "
                    "to get its result.", current_version=0,
                    details={"reason": "in_flight"}) from err
            raise
        finally:
            ctx.end_publish(principal.user_id, idempotency_key)
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
    headers["ETag"] = f'"{result.post.version}"'
    metrics.publish_succeeded(result)
    return json_response(result, headers)


@router.post("/posts/{post_id}/unpublish", response_model=Post)
def unpublish(post_id: UUID, store: StoreDep, response: Response) -> Post:
    return etag(response, store.unpublish(post_id))


# --- moderation ------------------------------------------------------------------------


@router.post("/posts/{post_id}/collectives/{slug}/approve", response_model=Post)
def approve(post_id: UUID, slug: SlugPath, store: StoreDep, response: Response) -> Post:
    return etag(response, store.approve(post_id, slug))


@router.post("/posts/{post_id}/collectives/{slug}/reject", response_model=Post)
def reject(post_id: UUID, slug: SlugPath, body: Rejection, store: StoreDep,
           response: Response) -> Post:
    return etag(response, store.reject(post_id, slug, body.reason))


@router.post("/posts/{post_id}/collectives/{slug}/resubmit", response_model=Post)
def resubmit(post_id: UUID, slug: SlugPath, store: StoreDep, response: Response) -> Post:
    return etag(response, store.resubmit(post_id, slug))
