"""Every cell of docs/product.md's permission table, plus property tests for its invariants.

The expected tables below are written by hand from docs/product.md ("Permissions"), never
computed from `post001.core.permissions`: if the code and the page disagree, a cell fails.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from post001.core import permissions as p
from post001.core.models import PostStatus, Role, ShareStatus

# Readers/actors: every role, plus None for "not a member of the collective".
ROLES: dict[str, Role | None] = {
    "owner": Role.OWNER,
    "admin": Role.ADMIN,
    "editor": Role.EDITOR,
    "author": Role.AUTHOR,
    "contributor": Role.CONTRIBUTOR,
    "member": Role.MEMBER,
    "nonmember": None,
}
MEMBER_ROLES = [name for name in ROLES if name != "nonmember"]

PUB = ShareStatus.PUBLISHED
PEND = ShareStatus.PENDING_APPROVAL

# --- the role x action table --------------------------------------------------------------
# Columns:
#   share_own        the post's author shares it to C            (can_share, is_author=True)
#   share_others     someone else's post                         (can_share, is_author=False)
#   on_publish       share status without / with C.require_approval (share_status_on_publish)
#   moderate         approve / reject pending shares             (can_moderate)
#   remove_own       remove a share of one's own post            (can_remove_share, author)
#   remove_others    remove a share of someone else's post       (can_remove_share, not author)
#   edit_own         edit/publish/unpublish/archive own post     (can_edit_post, author)
#   edit_others      ... someone else's post                     (can_edit_post, not author)
#   see              see that C exists                           (can_see_collective)
#   settings         change C's settings                         (can_change_settings)
#   audit            read an event of C, being neither its actor nor the post's author
EXPECTED: dict[str, dict[str, object]] = {
    "owner": {
        "share_own": True, "share_others": False, "on_publish": (PUB, PUB),
        "moderate": True, "remove_own": True, "remove_others": True,
        "edit_own": True, "edit_others": False, "see": True, "settings": True, "audit": True,
    },
    "admin": {
        "share_own": True, "share_others": False, "on_publish": (PUB, PUB),
        "moderate": True, "remove_own": True, "remove_others": True,
        "edit_own": True, "edit_others": False, "see": True, "settings": True, "audit": True,
    },
    "editor": {
        "share_own": True, "share_others": False, "on_publish": (PUB, PUB),
        "moderate": True, "remove_own": True, "remove_others": True,
        "edit_own": True, "edit_others": False, "see": True, "settings": False, "audit": False,
    },
    "author": {
        "share_own": True, "share_others": False, "on_publish": (PUB, PEND),
        "moderate": False, "remove_own": True, "remove_others": False,
        "edit_own": True, "edit_others": False, "see": True, "settings": False, "audit": False,
    },
    "contributor": {
        "share_own": True, "share_others": False, "on_publish": (PEND, PEND),
        "moderate": False, "remove_own": True, "remove_others": False,
        "edit_own": True, "edit_others": False, "see": True, "settings": False, "audit": False,
    },
    "member": {
        "share_own": False, "share_others": False, "on_publish": (None, None),
        "moderate": False, "remove_own": True, "remove_others": False,
        "edit_own": True, "edit_others": False, "see": True, "settings": False, "audit": False,
    },
    "nonmember": {
        "share_own": False, "share_others": False, "on_publish": (None, None),
        "moderate": False, "remove_own": True, "remove_others": False,
        "edit_own": True, "edit_others": False, "see": False, "settings": False, "audit": False,
    },
}


def _ask(action: str, role: Role | None) -> object:
    if action == "share_own":
        return p.can_share(is_author=True, role=role)
    if action == "share_others":
        return p.can_share(is_author=False, role=role)
    if action == "on_publish":
        return (p.share_status_on_publish(role=role, require_approval=False),
                p.share_status_on_publish(role=role, require_approval=True))
    if action == "moderate":
        return p.can_moderate(role=role)
    if action == "remove_own":
        return p.can_remove_share(is_author=True, role=role)
    if action == "remove_others":
        return p.can_remove_share(is_author=False, role=role)
    if action == "edit_own":
        return p.can_edit_post(is_author=True)
    if action == "edit_others":
        return p.can_edit_post(is_author=False)
    if action == "see":
        return p.can_see_collective(role=role)
    if action == "settings":
        return p.can_change_settings(role=role)
    if action == "audit":
        return p.can_read_audit(is_actor=False, is_post_author=False, role=role)
    raise AssertionError(action)


def _assert_decision(result: object, expected: bool) -> None:
    if isinstance(result, p.Decision):
        assert result.allowed is expected
        assert bool(result) is expected
        if expected:
            assert result.reason is None
        else:
            assert isinstance(result.reason, str) and result.reason.strip()
    else:
        assert result is expected


TABLE_CELLS = [
    pytest.param(role, action, expected, id=f"{role}-{action}")
    for role, row in EXPECTED.items()
    for action, expected in row.items()
]


def test_table_covers_every_role() -> None:
    assert set(EXPECTED) == set(ROLES)
    assert {r for r in ROLES.values() if r is not None} == set(Role)
    columns = {frozenset(row) for row in EXPECTED.values()}
    assert len(columns) == 1


@pytest.mark.parametrize(("role", "action", "expected"), TABLE_CELLS)
def test_role_action_table(role: str, action: str, expected: object) -> None:
    result = _ask(action, ROLES[role])
    if action == "on_publish":
        assert result == expected
    else:
        assert isinstance(expected, bool)
        _assert_decision(result, expected)


# --- members: add, change role, remove -----------------------------------------------------
# Owner and admin manage members; only the owner makes or unmakes admins or transfers
# ownership; a collective has exactly one owner, so nobody is *added* as owner.
ADD_MEMBER: dict[str, str] = {  # actor -> the roles it may give a new member
    "owner": "admin editor author contributor member",
    "admin": "editor author contributor member",
    "editor": "",
    "author": "",
    "contributor": "",
    "member": "",
    "nonmember": "",
}


@pytest.mark.parametrize(
    ("actor", "new_role"),
    [pytest.param(a, n, id=f"{a}-adds-{n}") for a in ROLES for n in MEMBER_ROLES],
)
def test_add_member(actor: str, new_role: str) -> None:
    expected = new_role in ADD_MEMBER[actor].split()
    _assert_decision(p.can_add_member(actor_role=ROLES[actor], new_role=Role(new_role)), expected)


# actor -> target's current role -> the new roles the actor may give it.
# new role "owner" means transferring ownership. The owner's own role never changes this way.
_ANY = "owner admin editor author contributor member"
_ADMIN_MAY = "editor author contributor member"
CHANGE_ROLE: dict[str, dict[str, str]] = {
    "owner": {
        "owner": "", "admin": _ANY, "editor": _ANY, "author": _ANY,
        "contributor": _ANY, "member": _ANY,
    },
    "admin": {
        "owner": "", "admin": "", "editor": _ADMIN_MAY, "author": _ADMIN_MAY,
        "contributor": _ADMIN_MAY, "member": _ADMIN_MAY,
    },
    **{
        actor: {t: "" for t in MEMBER_ROLES}
        for actor in ("editor", "author", "contributor", "member", "nonmember")
    },
}


@pytest.mark.parametrize(
    ("actor", "target", "new_role"),
    [
        pytest.param(a, t, n, id=f"{a}-sets-{t}-to-{n}")
        for a in ROLES for t in MEMBER_ROLES for n in MEMBER_ROLES
    ],
)
def test_change_role(actor: str, target: str, new_role: str) -> None:
    expected = new_role in CHANGE_ROLE[actor][target].split()
    decision = p.can_change_role(
        actor_role=ROLES[actor], target_role=Role(target), new_role=Role(new_role)
    )
    _assert_decision(decision, expected)


def test_only_owner_transfers_ownership() -> None:
    assert p.can_change_role(actor_role=Role.OWNER, target_role=Role.ADMIN, new_role=Role.OWNER)
    assert p.can_change_role(actor_role=Role.OWNER, target_role=Role.MEMBER, new_role=Role.OWNER)
    denied = p.can_change_role(actor_role=Role.ADMIN, target_role=Role.EDITOR,
                               new_role=Role.OWNER)
    assert not denied and "owner" in (denied.reason or "")


# actor -> the roles of *other* members it may remove
REMOVE_OTHER: dict[str, str] = {
    "owner": "admin editor author contributor member",
    "admin": "editor author contributor member",
    "editor": "",
    "author": "",
    "contributor": "",
    "member": "",
    "nonmember": "",
}


@pytest.mark.parametrize(
    ("actor", "target"),
    [pytest.param(a, t, id=f"{a}-removes-{t}") for a in ROLES for t in MEMBER_ROLES],
)
def test_remove_other_member(actor: str, target: str) -> None:
    expected = target in REMOVE_OTHER[actor].split()
    decision = p.can_remove_member(actor_role=ROLES[actor], target_role=Role(target),
                                   is_self=False)
    _assert_decision(decision, expected)


# A member may leave; the owner may not (nobody removes the owner: transfer first).
LEAVE: dict[str, bool] = {
    "owner": False,
    "admin": True,
    "editor": True,
    "author": True,
    "contributor": True,
    "member": True,
}


@pytest.mark.parametrize("role", [pytest.param(r, id=f"{r}-leaves") for r in LEAVE])
def test_member_may_leave(role: str) -> None:
    decision = p.can_remove_member(actor_role=Role(role), target_role=Role(role), is_self=True)
    _assert_decision(decision, LEAVE[role])


@pytest.mark.parametrize("actor", [pytest.param(a, id=a) for a in ROLES])
@pytest.mark.parametrize("is_self", [False, True], ids=["other", "self"])
def test_nobody_removes_the_owner(actor: str, is_self: bool) -> None:
    decision = p.can_remove_member(actor_role=ROLES[actor], target_role=Role.OWNER,
                                   is_self=is_self)
    _assert_decision(decision, False)


# --- reading posts -------------------------------------------------------------------------
# (status, is_public) -> reader -> may read.
# "member" = holds any role in a collective where the post's share is published.
# "moderator" = owner/admin/editor of a collective where the share waits for review.
_ONLY_AUTHOR = {"author": True, "member": False, "moderator": False, "stranger": False}
READ_POST: dict[tuple[str, bool], dict[str, bool]] = {
    ("published", True): {"author": True, "member": True, "moderator": True,
                          "stranger": True},
    ("published", False): {"author": True, "member": True, "moderator": True,
                           "stranger": False},
    ("draft", True): _ONLY_AUTHOR,
    ("draft", False): _ONLY_AUTHOR,
    ("scheduled", True): _ONLY_AUTHOR,
    ("scheduled", False): _ONLY_AUTHOR,
    ("archived", True): _ONLY_AUTHOR,
    ("archived", False): _ONLY_AUTHOR,
}


def test_read_post_table_covers_every_status() -> None:
    assert set(READ_POST) == {(s.value, pub) for s in PostStatus for pub in (True, False)}


@pytest.mark.parametrize(
    ("status", "is_public", "reader"),
    [
        pytest.param(s, pub, r, id=f"{s}-{'public' if pub else 'private'}-{r}")
        for (s, pub), row in READ_POST.items() for r in row
    ],
)
def test_read_post(status: str, is_public: bool, reader: str) -> None:
    got = p.can_read_post(
        is_author=reader == "author",
        status=PostStatus(status),
        is_public=is_public,
        member_where_published=reader == "member",
        moderator_where_pending=reader == "moderator",
    )
    assert got is READ_POST[(status, is_public)][reader]


# --- reading shares ------------------------------------------------------------------------
# share status -> reader -> (may read when the post is not readable to them, when it is).
# Pending/rejected: the author and C's owner/admin/editor. Published: C's members who may
# read the post. A draft share: the author only.
_MODS_ONLY = {
    "post-author": (True, True),
    "owner": (True, True), "admin": (True, True), "editor": (True, True),
    "author": (False, False), "contributor": (False, False), "member": (False, False),
    "nonmember": (False, False),
}
READ_SHARE: dict[str, dict[str, tuple[bool, bool]]] = {
    "pending_approval": _MODS_ONLY,
    "rejected": _MODS_ONLY,
    "published": {
        "post-author": (True, True),
        "owner": (False, True), "admin": (False, True), "editor": (False, True),
        "author": (False, True), "contributor": (False, True), "member": (False, True),
        "nonmember": (False, False),  # no leak of which collectives exist
    },
    "draft": {
        "post-author": (True, True),
        "owner": (False, False), "admin": (False, False), "editor": (False, False),
        "author": (False, False), "contributor": (False, False), "member": (False, False),
        "nonmember": (False, False),
    },
}


@pytest.mark.parametrize(
    ("status", "reader", "post_readable"),
    [
        pytest.param(s, r, pr, id=f"{s}-{r}-{'post-readable' if pr else 'post-hidden'}")
        for s, row in READ_SHARE.items() for r in row for pr in (False, True)
    ],
)
def test_read_share(status: str, reader: str, post_readable: bool) -> None:
    assert set(READ_SHARE) == {s.value for s in ShareStatus}
    is_author = reader == "post-author"
    role = Role.AUTHOR if is_author else ROLES[reader]
    got = p.can_read_share(is_author=is_author, status=ShareStatus(status), role=role,
                           post_readable=post_readable)
    assert got is READ_SHARE[status][reader][int(post_readable)]


# --- reading audit events ------------------------------------------------------------------
# (is_actor, is_post_author) -> role in the event's collective -> may read
_EVERYONE = {r: True for r in ROLES}
READ_AUDIT: dict[tuple[bool, bool], dict[str, bool]] = {
    (True, True): _EVERYONE,
    (True, False): _EVERYONE,
    (False, True): _EVERYONE,
    (False, False): {
        "owner": True, "admin": True, "editor": False, "author": False,
        "contributor": False, "member": False, "nonmember": False,
    },
}


@pytest.mark.parametrize(
    ("is_actor", "is_post_author", "role"),
    [
        pytest.param(a, pa, r, id=f"{'actor' if a else 'not-actor'}-"
                                 f"{'post-author' if pa else 'not-post-author'}-{r}")
        for (a, pa), row in READ_AUDIT.items() for r in row
    ],
)
def test_read_audit(is_actor: bool, is_post_author: bool, role: str) -> None:
    got = p.can_read_audit(is_actor=is_actor, is_post_author=is_post_author, role=ROLES[role])
    assert got is READ_AUDIT[(is_actor, is_post_author)][role]


# --- properties ----------------------------------------------------------------------------

roles = st.sampled_from(list(Role))
roles_or_none = st.one_of(st.none(), roles)


def _every_answer(*, role: Role | None, is_author: bool, target: Role, new_role: Role,
                  is_self: bool, share_status: ShareStatus, post_status: PostStatus,
                  is_public: bool, require_approval: bool,
                  post_readable: bool) -> dict[str, object]:
    """Every question the module answers, for one actor standing `role` in a collective."""
    return {
        "share": p.can_share(is_author=is_author, role=role),
        "status_on_publish": p.share_status_on_publish(role=role,
                                                       require_approval=require_approval),
        "moderate": p.can_moderate(role=role),
        "remove_share": p.can_remove_share(is_author=is_author, role=role),
        "see": p.can_see_collective(role=role),
        "settings": p.can_change_settings(role=role),
        "add_member": p.can_add_member(actor_role=role, new_role=new_role),
        "change_role": p.can_change_role(actor_role=role, target_role=target,
                                         new_role=new_role),
        "remove_member": p.can_remove_member(actor_role=role, target_role=target,
                                             is_self=is_self),
        "read_share": p.can_read_share(is_author=is_author, status=share_status, role=role,
                                       post_readable=post_readable),
        "read_post": p.can_read_post(is_author=is_author, status=post_status,
                                     is_public=is_public, member_where_published=False),
        "audit": p.can_read_audit(is_actor=False, is_post_author=is_author, role=role),
    }


@given(
    target=roles, new_role=roles, is_self=st.booleans(),
    share_status=st.sampled_from(list(ShareStatus)),
    post_status=st.sampled_from(list(PostStatus)),
    require_approval=st.booleans(),
)
def test_nonmember_can_do_nothing_in_a_collective(
    target: Role, new_role: Role, is_self: bool, share_status: ShareStatus,
    post_status: PostStatus, require_approval: bool,
) -> None:
    """role=None, not the author, not the actor: every answer is no, and a non-member
    cannot even tell that the collective exists. (Private post, not readable otherwise.)"""
    answers = _every_answer(
        role=None, is_author=False, target=target, new_role=new_role, is_self=is_self,
        share_status=share_status, post_status=post_status, is_public=False,
        require_approval=require_approval, post_readable=False,
    )
    for name, answer in answers.items():
        assert not answer, name
    assert answers["status_on_publish"] is None


@given(require_approval=st.booleans(), target=roles, new_role=roles, is_self=st.booleans())
def test_nonmember_author_cannot_post_or_manage(
    require_approval: bool, target: Role, new_role: Role, is_self: bool,
) -> None:
    """Even the post's author gets nothing in a collective they are not in, except taking
    their own post back out of it."""
    assert not p.can_share(is_author=True, role=None)
    assert p.share_status_on_publish(role=None, require_approval=require_approval) is None
    assert not p.can_moderate(role=None)
    assert not p.can_change_settings(role=None)
    assert not p.can_add_member(actor_role=None, new_role=new_role)
    assert not p.can_change_role(actor_role=None, target_role=target, new_role=new_role)
    assert not p.can_remove_member(actor_role=None, target_role=target, is_self=is_self)
    assert p.can_remove_share(is_author=True, role=None)


@given(role=roles_or_none)
def test_non_author_never_edits_or_shares(role: Role | None) -> None:
    assert not p.can_edit_post(is_author=False)
    assert not p.can_share(is_author=False, role=role)
    assert p.can_edit_post(is_author=True)


@given(role=roles_or_none, status=st.sampled_from([PEND, ShareStatus.REJECTED]),
       post_readable=st.booleans())
def test_only_moderators_decide_and_see_pending_shares(
    role: Role | None, status: ShareStatus, post_readable: bool,
) -> None:
    is_moderator = role in (Role.OWNER, Role.ADMIN, Role.EDITOR)
    assert bool(p.can_moderate(role=role)) is is_moderator
    assert p.can_read_share(is_author=False, status=status, role=role,
                            post_readable=post_readable) is is_moderator


@given(role=roles_or_none, require_approval=st.booleans())
def test_share_status_is_published_pending_or_refused(
    role: Role | None, require_approval: bool,
) -> None:
    status = p.share_status_on_publish(role=role, require_approval=require_approval)
    assert (status is None) is (not p.can_share(is_author=True, role=role))
    assert status in (None, PUB, PEND)
    if require_approval and status is not None and role not in (
        Role.OWNER, Role.ADMIN, Role.EDITOR
    ):
        assert status is PEND


@given(actor=roles_or_none, is_self=st.booleans(), new_role=roles)
def test_owner_is_never_removed_or_demoted(
    actor: Role | None, is_self: bool, new_role: Role,
) -> None:
    assert not p.can_remove_member(actor_role=actor, target_role=Role.OWNER, is_self=is_self)
    assert not p.can_change_role(actor_role=actor, target_role=Role.OWNER, new_role=new_role)
    assert not p.can_add_member(actor_role=actor, new_role=Role.OWNER)


@given(
    role=roles_or_none, is_author=st.booleans(), target=roles, new_role=roles,
    is_self=st.booleans(),
)
def test_every_denial_carries_a_reason(
    role: Role | None, is_author: bool, target: Role, new_role: Role, is_self: bool,
) -> None:
    decisions = [
        p.can_edit_post(is_author=is_author),
        p.can_share(is_author=is_author, role=role),
        p.can_moderate(role=role),
        p.can_remove_share(is_author=is_author, role=role),
        p.can_change_settings(role=role),
        p.can_add_member(actor_role=role, new_role=new_role),
        p.can_change_role(actor_role=role, target_role=target, new_role=new_role),
        p.can_remove_member(actor_role=role, target_role=target, is_self=is_self),
    ]
    for decision in decisions:
        assert isinstance(decision, p.Decision)
        if decision.allowed:
            assert decision.reason is None
        else:
            assert isinstance(decision.reason, str) and len(decision.reason.strip()) > 5
