"""Who am I, and the flags and limits in force for me; the server's users."""

from __future__ import annotations

from fastapi import status

from post001.core.errors import PermissionDenied
from post001.core.models import User, UserCreate
from post001.server.context import Ctx, PageDep, StoreDep
from post001.server.routers import api_router
from post001.server.schemas import MeSettings

router = api_router("me")


@router.get("/me", response_model=User)
def me(store: StoreDep) -> User:
    return store.me()


@router.get("/me/settings", response_model=MeSettings)
def my_settings(store: StoreDep) -> MeSettings:
    max_collectives, max_chars = store.limits()
    return MeSettings(flags=store.flags().as_dict(), multi_collective=store.multi_collective(),
                      max_collectives_per_post=max_collectives, max_content_chars=max_chars)


@router.get("/users", response_model=list[User])
def list_users(store: StoreDep, page: PageDep) -> list[User]:
    return page.cut(store.list_users())


@router.post("/users", response_model=User, status_code=status.HTTP_201_CREATED)
def add_user(body: UserCreate, store: StoreDep, ctx: Ctx) -> User:
    """A profile without a password (to add as a member); only where the server allows."""
    if not ctx.server.allow_user_creation:
        raise PermissionDenied(
            "Users are added by the server's administrator (`post001 server user add`).")
    return store.add_user(body.username, body.display_name)
