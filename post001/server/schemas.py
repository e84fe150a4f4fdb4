"""Request and response bodies of the HTTP API that are not core models.

Inputs forbid unknown fields, like the core's: a payload adding `author_id`, `status`,
`version` or `role` where it is not an input is refused with 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from post001.core.models import REJECTION_REASON_MAX, Role, Username, text_problem


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: Text that reaches the database as a lookup key: NUL is refused by name (422), not
#: left to fail in the driver.
Storable = AfterValidator(_storable)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


SlugRef = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MemberAdd(_Body):
    username: Username
    role: Role = Role.MEMBER


class RoleChange(_Body):
    role: Role


class CollectiveSelection(_Body):
    collectives: list[SlugRef] = Field(max_length=1000)


class Rejection(_Body):
    reason: Annotated[str, StringConstraints(max_length=REJECTION_REASON_MAX * 2)]


class TokenRequest(_Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64), Storable]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024), Storable]
    name: Annotated[str, StringConstraints(max_length=100), Storable] = ""
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class PasswordChange(_Body):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024),
                                Storable]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=1024), Storable]


class PasswordChanged(BaseModel):
    #: Other tokens of the user's that the change revoked (the one used stays valid).
    tokens_revoked: int


class TokenIssued(BaseModel):
    token: str
    id: UUID
    name: str
    username: str
    expires_at: datetime | None


class TokenInfo(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    current: bool


class MeSettings(BaseModel):
    flags: dict[str, Any]
    multi_collective: bool
    max_collectives_per_post: int
    max_content_chars: int


class SavedDraft(BaseModel):
    id: UUID
    version: int


class SchedulerRequest(_Body):
    now: datetime | None = None


class Reach(BaseModel):
    """GET /reach: the distinct people a post to those collectives would reach."""

    reach: int


class SchedulerRun(BaseModel):
    published: list[UUID]


class Health(BaseModel):
    status: str
    database: str
    timestamp: datetime
    version: str
    row_level_security: bool | None = None


class PostCreationHealth(BaseModel):
    """Anonymous callers get `status` and `timestamp` only; the rest goes to the
    server's administrators and the metrics token's holder (docs/server.md)."""

    status: str  # healthy | warning | critical
    timestamp: datetime
    components: dict[str, str] | None = None
    metrics: dict[str, Any] | None = None
    feature_flags: dict[str, Any] | None = None
    adoption: dict[str, Any] | None = None
