"""Preflight: per-collective outcome, blocking errors, warnings, reach (docs/product.md, step 4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from post001.core.models import Outcome, Role
from post001.core.publishing import Target, blocking_message, plan_collective, preflight

MAX = 10
MAX_CHARS = 1_000


def target(slug: str, role: Role | None, *, approval: bool = False, members: int = 1) -> Target:
    return Target(slug=slug, name=slug.replace("-", " ").title(), role=role,
                  require_approval=approval, member_count=members)


def run(targets: list[Target], *, title: str = "A title", content: str = "Some words.",
        max_collectives: int = MAX, max_content_chars: int = MAX_CHARS,
        is_author: bool = True):
    return preflight(title=title, content=content, targets=targets,
                     max_collectives=max_collectives, max_content_chars=max_content_chars,
                     is_author=is_author)


def codes(problems) -> list[str]:
    return [problem.code for problem in problems]


# --- per collective ------------------------------------------------------------------------

# (role, require_approval) -> outcome, written from docs/product.md's permission table
# ("the share's status when the post is published").
OUTCOMES = {
    ("owner", False): "publish", ("owner", True): "publish",
    ("admin", False): "publish", ("admin", True): "publish",
    ("editor", False): "publish", ("editor", True): "publish",
    ("author", False): "publish", ("author", True): "review",
    ("contributor", False): "review", ("contributor", True): "review",
    ("member", False): "not_allowed", ("member", True): "not_allowed",
    ("nonmember", False): "not_allowed", ("nonmember", True): "not_allowed",
}


@pytest.mark.parametrize(
    ("role", "approval"),
    [pytest.param(r, a, id=f"{r}-{'approval' if a else 'open'}") for r, a in OUTCOMES],
)
def test_plan_outcome_per_role(role: str, approval: bool) -> None:
    r = None if role == "nonmember" else Role(role)
    plan = plan_collective(target("c", r, approval=approval, members=7))
    assert plan.outcome == Outcome(OUTCOMES[(role, approval)])
    assert plan.collective == "c"
    assert plan.role is r
    assert plan.member_count == 7
    if plan.outcome is Outcome.PUBLISH:
        assert plan.reason is None
    else:
        assert isinstance(plan.reason, str) and plan.reason.strip()


def test_someone_elses_post_is_not_allowed_anywhere() -> None:
    plan = plan_collective(target("c", Role.OWNER), is_author=False)
    assert plan.outcome is Outcome.NOT_ALLOWED
    assert "author" in (plan.reason or "")


def test_mix_of_outcomes() -> None:
    targets = [
        target("open-house", Role.EDITOR, members=10),
        target("strict-club", Role.AUTHOR, approval=True, members=20),
        target("newbies", Role.CONTRIBUTOR, members=40),
        target("readers-only", Role.MEMBER, members=1000),
    ]
    result = run(targets)
    assert [(c.collective, c.outcome) for c in result.collectives] == [
        ("open-house", Outcome.PUBLISH),
        ("strict-club", Outcome.REVIEW),
        ("newbies", Outcome.REVIEW),
        ("readers-only", Outcome.NOT_ALLOWED),
    ]
    assert result.can_publish is False
    assert codes(result.errors) == ["not_allowed"]
    assert result.errors[0].collective == "readers-only"
    assert sorted(w.collective for w in result.warnings if w.code == "needs_approval") == [
        "newbies", "strict-club",
    ]
    assert result.reach == 10 + 20 + 40


# --- blocking errors -----------------------------------------------------------------------

def test_clean_post_can_publish() -> None:
    result = run([target("a", Role.OWNER, members=3)])
    assert result.can_publish is True
    assert result.errors == []
    assert result.warnings == []
    assert result.reach == 3


@pytest.mark.parametrize("title", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_no_title_blocks(title: str) -> None:
    result = run([target("a", Role.OWNER)], title=title)
    assert result.can_publish is False
    assert codes(result.errors) == ["no_title"]
    assert result.errors[0].field == "title"


@pytest.mark.parametrize("content", ["", "   ", "\n\n \t"], ids=["empty", "spaces", "blank"])
def test_blank_content_blocks(content: str) -> None:
    result = run([target("a", Role.OWNER)], content=content)
    assert result.can_publish is False
    assert codes(result.errors) == ["no_content"]
    assert result.errors[0].field == "content"


def test_content_at_limit_is_fine_and_over_it_blocks() -> None:
    assert run([target("a", Role.OWNER)], content="x" * MAX_CHARS).can_publish is True
    result = run([target("a", Role.OWNER)], content="x" * (MAX_CHARS + 1))
    assert result.can_publish is False
    assert codes(result.errors) == ["content_too_long"]
    error = result.errors[0]
    assert error.field == "content"
    assert "1,001" in error.message and "1,000" in error.message  # size and limit


def test_too_many_collectives_blocks() -> None:
    targets = [target(f"c{i}", Role.OWNER) for i in range(MAX + 1)]
    result = run(targets)
    assert result.can_publish is False
    assert codes(result.errors) == ["too_many_collectives"]
    assert result.errors[0].field == "collectives"
    assert str(MAX + 1) in result.errors[0].message and str(MAX) in result.errors[0].message
    assert "at_max_collectives" not in codes(result.warnings)


def test_not_allowed_names_each_collective() -> None:
    targets = [
        target("fine", Role.OWNER),
        target("readers-only", Role.MEMBER),
        target("never-joined", None),
    ]
    result = run(targets)
    assert result.can_publish is False
    not_allowed = [e for e in result.errors if e.code == "not_allowed"]
    assert [e.collective for e in not_allowed] == ["readers-only", "never-joined"]
    for error in not_allowed:
        assert error.collective in error.message
    message = blocking_message(result)
    assert "readers-only" in message and "never-joined" in message
    assert "fine" not in [e.collective for e in result.errors]


def test_every_blocking_error_at_once() -> None:
    targets = [target(f"c{i}", Role.MEMBER) for i in range(3)]
    result = run(targets, title=" ", content="", max_collectives=2)
    assert result.can_publish is False
    assert set(codes(result.errors)) == {"no_title", "no_content", "too_many_collectives",
                                         "not_allowed"}
    assert codes(result.errors).count("not_allowed") == 3
    text = blocking_message(result)
    assert text.startswith("Not published:")
    for error in result.errors:
        assert error.message in text


# --- warnings ------------------------------------------------------------------------------

def test_at_max_warns_but_publishes() -> None:
    targets = [target(f"c{i}", Role.OWNER) for i in range(MAX)]
    result = run(targets)
    assert result.can_publish is True
    assert codes(result.warnings) == ["at_max_collectives"]
    assert str(MAX) in result.warnings[0].message


def test_needs_approval_warns_but_publishes() -> None:
    result = run([target("strict", Role.AUTHOR, approval=True),
                  target("newbies", Role.CONTRIBUTOR)])
    assert result.can_publish is True
    assert codes(result.warnings) == ["needs_approval", "needs_approval"]
    assert [w.collective for w in result.warnings] == ["strict", "newbies"]
    assert all(w.collective in w.message for w in result.warnings)


def test_no_collectives_warns_but_publishes() -> None:
    result = run([])
    assert result.can_publish is True
    assert codes(result.warnings) == ["no_collectives"]
    assert result.reach == 0
    assert result.collectives == []


# --- reach and can_publish (properties) ----------------------------------------------------

roles_or_none = st.one_of(st.none(), st.sampled_from(list(Role)))
targets_strategy = st.lists(
    st.builds(
        lambda i, role, approval, members: target(f"c{i}", role, approval=approval,
                                                  members=members),
        st.integers(0, 10_000), roles_or_none, st.booleans(), st.integers(0, 100_000),
    ),
    max_size=14,
    unique_by=lambda t: t.slug,
)


@given(targets=targets_strategy, title=st.sampled_from(["", "T"]),
       content=st.sampled_from(["", "body"]))
def test_reach_and_can_publish(targets: list[Target], title: str, content: str) -> None:
    result = run(targets, title=title, content=content)
    allowed_roles = {Role.OWNER, Role.ADMIN, Role.EDITOR, Role.AUTHOR, Role.CONTRIBUTOR}
    assert result.reach == sum(t.member_count for t in targets if t.role in allowed_roles)
    assert len(result.collectives) == len(targets)
    assert result.can_publish is (not result.errors)
    should_block = (
        not title or not content or len(targets) > MAX
        or any(t.role not in allowed_roles for t in targets)
    )
    assert result.can_publish is (not should_block)
    blocked = {e.collective for e in result.errors if e.code == "not_allowed"}
    assert blocked == {t.slug for t in targets if t.role not in allowed_roles}
