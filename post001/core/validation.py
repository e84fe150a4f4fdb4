"""Turn bad input into errors a writer can act on: the field, the limit, the size.

`as_post001_error` is the one translator of pydantic's complaints (and of anything
else unexpected) for every face: the CLI and the TUI both call it, so a limit reads
the same wherever it is hit."""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic

from post001.core.errors import DatabaseError, Post001Error, ValidationError
from post001.core.models import text_problem

M = TypeVar("M", bound=pydantic.BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate `data` (a dict or an instance) as `model`, raising our ValidationError."""
    try:
        if isinstance(data, pydantic.BaseModel):
            # Re-validate what was set: model_construct() builds instances unchecked.
            data = {name: getattr(data, name) for name in data.model_fields_set}
        return model.model_validate(data)
    except pydantic.ValidationError as err:
        raise from_pydantic(err) from err


def as_post001_error(exc: BaseException) -> Post001Error:
    """Any failure as a post001 error: ours as they are, pydantic's as a ValidationError
    naming the field and the limit, anything else as an unexpected DatabaseError."""
    if isinstance(exc, Post001Error):
        return exc
    if isinstance(exc, pydantic.ValidationError):
        return from_pydantic(exc)
    return DatabaseError(f"Unexpected error: {type(exc).__name__}: {exc}")


def from_pydantic(err: pydantic.ValidationError) -> ValidationError:
    problems = [describe(e) for e in err.errors()]
    first_field = problems[0][0] if problems else None
    message = "; ".join(text for _, text in problems) or "invalid input"
    return ValidationError(
        message,
        field=first_field,
        details={"errors": [{"field": f, "message": m} for f, m in problems]},
    )


def describe(error: Any) -> tuple[str, str]:
    field = ".".join(str(p) for p in error.get("loc", ())) or "input"
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        if not isinstance(value, str) or not isinstance(limit, int):
            return field, f"{field} is too long."
        return field, f"{field} is {len(value):,} characters; the limit is {limit:,}."
    if kind == "string_too_short":
        least = ctx.get("min_length")
        return field, f"{field} needs at least {least} character{'s' if least != 1 else ''}."
    if kind == "string_pattern_mismatch":
        return field, f"{field} {value!r} does not have the allowed form ({_pattern_hint(field)})."
    if kind == "extra_forbidden":
        return field, f"{field} cannot be set here."
    if kind == "value_error":
        return field, f"{field} {ctx.get('error', error.get('msg', ''))!s}."
    return field, f"{field}: {error.get('msg', 'invalid value')}."


def _pattern_hint(field: str) -> str:
    if field.endswith("username"):
        return "3 to 32 characters of a-z, 0-9 and _"
    if field.endswith("slug"):
        return "lowercase words of a-z and 0-9 joined by single hyphens"
    return "see the documentation"


def check_content(content: str, limit: int) -> None:
    if len(content) > limit:
        raise ValidationError(
            f"content is {len(content):,} characters; the limit is {limit:,}.",
            field="content",
            details={"limit": limit, "size": len(content)},
        )


def check_text(field: str, value: str) -> str:
    """A lookup value (a search, a slug, a username) the database can take: NUL and lone
    surrogates are refused here, naming the field, instead of failing in the driver."""
    problem = text_problem(value)
    if problem:
        raise ValidationError(f"{field} {problem}.", field=field)
    return value
