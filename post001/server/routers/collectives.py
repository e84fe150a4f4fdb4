"""Collectives: mine (searched, filtered, sorted), one, settings, members, feed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Response, status
from pydantic import StringConstraints

from post001.core.models import (
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    PostSummary,
)
from post001.server.context import PageDep, StoreDep
from post001.server.routers import api_router
from post001.server.schemas import MemberAdd, Reach, RoleChange

router = api_router("collectives")

SlugPath = Annotated[str, Path(min_length=1, max_length=200)]
UsernamePath = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/collectives", response_model=list[Membership])
def my_collectives(
    store: StoreDep,
    page: PageDep,
    query: Annotated[str, Query(max_length=200)] = "",
    postable_only: bool = False,
    sort: Literal["role", "name", "members"] = "role",
) -> list[Membership]:
    found = store.my_collectives(query, postable_only=postable_only, sort=sort,
                                 limit=page.end)
    return page.cut(found)


@router.get("/reach", response_model=Reach)
def reach(
    store: StoreDep,
    collective: Annotated[list[Annotated[str, StringConstraints(max_length=200)]],
                          Query(max_length=1000)] = [],  # noqa: B006 - FastAPI copies it
) -> Reach:
    """The people a post shared to these collectives would reach (Store.reach)."""
    return Reach(reach=store.reach(collective))


@router.post("/collectives", response_model=Collective, status_code=status.HTTP_201_CREATED)
def create_collective(body: CollectiveCreate, store: StoreDep) -> Collective:
    return store.create_collective(body)


@router.get("/collectives/{slug}", response_model=Collective)
def get_collective(slug: SlugPath, store: StoreDep) -> Collective:
    return store.get_collective(slug)


@router.patch("/collectives/{slug}", response_model=Collective)
def update_collective(slug: SlugPath, body: CollectiveUpdate, store: StoreDep) -> Collective:
    return store.update_collective(slug, body)


@router.get("/collectives/{slug}/members", response_model=list[Member])
def members(slug: SlugPath, store: StoreDep, page: PageDep) -> list[Member]:
    return page.cut(store.members(slug))


@router.post("/collectives/{slug}/members", response_model=Member,
             status_code=status.HTTP_201_CREATED)
def add_member(slug: SlugPath, body: MemberAdd, store: StoreDep) -> Member:
    return store.add_member(slug, body.username, body.role)


@router.put("/collectives/{slug}/members/{username}", response_model=Member)
def set_role(slug: SlugPath, username: UsernamePath, body: RoleChange,
             store: StoreDep) -> Member:
    return store.set_role(slug, username, body.role)


@router.delete("/collectives/{slug}/members/{username}",
               status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def remove_member(slug: SlugPath, username: UsernamePath, store: StoreDep) -> Response:
    store.remove_member(slug, username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/collectives/{slug}/feed", response_model=list[PostSummary])
def feed(slug: SlugPath, store: StoreDep, page: PageDep) -> list[PostSummary]:
    return page.cut(store.feed(slug, limit=page.end))
