"""One exception hierarchy for every layer.

Each error carries what a writer needs to act: a category, a message, the field or
collective it is about, and (only where the raiser knows them) suggested actions. The
TUI shows them, the CLI prints them as JSON, and the server maps the category to an
HTTP status (and the remote store maps it back), so a user sees the same words
whichever way they reach post001.

What to do next depends on the face and the moment ("your draft is kept" is true in
the editor, not when adding a member), so the general hints are not here: each face
keeps one table of them (post001/cli/hints.py, post001/tui/hints.py).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Category = Literal["validation", "permission", "conflict", "not_found", "network", "database"]


class Post001Error(Exception):
    category: ClassVar[Category] = "database"
    title: ClassVar[str] = "Something went wrong"
    default_actions: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        collective: str | None = None,
        actions: list[str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.collective = collective
        self.actions = list(actions) if actions is not None else list(self.default_actions)
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"category": self.category, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.collective is not None:
            body["collective"] = self.collective
        if self.actions:
            body["actions"] = self.actions
        if self.details:
            body["details"] = self.details
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Post001Error:
        """Rebuild the error a remote side described (the inverse of to_dict)."""
        kind = _BY_CATEGORY.get(str(body.get("category")), DatabaseError)
        details = dict(body.get("details") or {})
        err: Post001Error
        if kind is ConflictError:
            err = ConflictError(
                str(body.get("message", "")),
                current_version=int(details.get("current_version", 0) or 0),
                field=body.get("field"),
                collective=body.get("collective"),
                details=details,
            )
        else:
            err = kind(
                str(body.get("message", "")),
                field=body.get("field"),
                collective=body.get("collective"),
                details=details,
            )
        if body.get("actions"):
            err.actions = list(body["actions"])
        return err

    def __str__(self) -> str:
        return self.message


class ValidationError(Post001Error):
    category = "validation"
    title = "Check this value"


class PermissionDenied(Post001Error):
    category = "permission"
    title = "Not allowed"


class NotFoundError(Post001Error):
    category = "not_found"
    title = "Not found"


class ConflictError(Post001Error):
    """A write was based on a version that is no longer current."""

    category = "conflict"
    title = "Changed elsewhere"

    def __init__(self, message: str, *, current_version: int, **kwargs: Any) -> None:
        details = dict(kwargs.pop("details", None) or {})
        details["current_version"] = current_version
        super().__init__(message, details=details, **kwargs)
        self.current_version = current_version


class NetworkError(Post001Error):
    category = "network"
    title = "Cannot reach the server"


class DatabaseError(Post001Error):
    category = "database"
    title = "Storage problem"


_BY_CATEGORY: dict[str, type[Post001Error]] = {
    "validation": ValidationError,
    "permission": PermissionDenied,
    "conflict": ConflictError,
    "not_found": NotFoundError,
    "network": NetworkError,
    "database": DatabaseError,
}
