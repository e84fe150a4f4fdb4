"""Preflight: what publishing will do, decided before anything is written.

Pure: the store gathers the facts (the post, the selected collectives with the writer's
role in each) and this module decides. The same plan gates the real publish, so the
summary a writer sees is exactly what happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from post001.core import permissions
from post001.core.models import (
    CollectivePlan,
    Outcome,
    Preflight,
    Problem,
    Role,
    ShareStatus,
)


@dataclass(frozen=True, slots=True)
class Target:
    """A selected collective and the writer's standing in it."""

    slug: str
    name: str
    role: Role | None
    require_approval: bool
    member_count: int


def plan_collective(target: Target, *, is_author: bool = True) -> CollectivePlan:
    decision = permissions.can_share(is_author=is_author, role=target.role)
    status = permissions.share_status_on_publish(
        role=target.role, require_approval=target.require_approval
    )
    if not decision or status is None:
        outcome, reason = Outcome.NOT_ALLOWED, decision.reason or "posting is not allowed here"
    elif status is ShareStatus.PUBLISHED:
        outcome, reason = Outcome.PUBLISH, None
    else:
        outcome = Outcome.REVIEW
        reason = (
            "contributors' posts are reviewed by an editor"
            if target.role is Role.CONTRIBUTOR
            else "this collective reviews posts before they appear"
        )
    return CollectivePlan(
        collective=target.slug,
        collective_name=target.name,
        outcome=outcome,
        reason=reason,
        role=target.role,
        member_count=target.member_count,
    )


def preflight(
    *,
    title: str,
    content: str,
    targets: Sequence[Target],
    max_collectives: int,
    max_content_chars: int,
    is_author: bool = True,
) -> Preflight:
    plans = [plan_collective(t, is_author=is_author) for t in targets]
    errors: list[Problem] = []
    warnings: list[Problem] = []
    if not title.strip():
        errors.append(Problem(code="no_title", message="Add a title before publishing.",
                              field="title"))
    if not content.strip():
        errors.append(Problem(code="no_content", message="Write something in the body first.",
                              field="content"))
    if len(content) > max_content_chars:
        errors.append(Problem(
            code="content_too_long",
            message=f"content is {len(content):,} characters; the limit is "
                    f"{max_content_chars:,}.",
            field="content",
        ))
    if len(targets) > max_collectives:
        errors.append(Problem(
            code="too_many_collectives",
            message=f"{len(targets)} collectives selected; the limit is {max_collectives}.",
            field="collectives",
        ))
    elif targets and len(targets) == max_collectives:
        warnings.append(Problem(
            code="at_max_collectives",
            message=f"You are at the maximum of {max_collectives} collectives.",
            field="collectives",
        ))
    for plan in plans:
        if plan.outcome is Outcome.NOT_ALLOWED:
            errors.append(Problem(
                code="not_allowed",
                message=f"Cannot post to {plan.collective_name} ({plan.collective}): "
                        f"{plan.reason}.",
                collective=plan.collective,
            ))
        elif plan.outcome is Outcome.REVIEW:
            warnings.append(Problem(
                code="needs_approval",
                message=f"{plan.collective_name} ({plan.collective}) will review it first: "
                        f"{plan.reason}.",
                collective=plan.collective,
            ))
    if not targets:
        warnings.append(Problem(
            code="no_collectives",
            message="No collective selected: the post will appear only on your profile.",
            field="collectives",
        ))
    reach = sum(p.member_count for p in plans if p.outcome is not Outcome.NOT_ALLOWED)
    return Preflight(
        can_publish=not errors,
        errors=errors,
        warnings=warnings,
        reach=reach,
        collectives=plans,
    )


def blocking_message(plan: Preflight) -> str:
    """One sentence naming every reason publishing was refused."""
    return "Not published: " + " ".join(e.message for e in plan.errors)
