"""Every permission rule of post001, as pure functions of plain facts.

Nothing here touches a database or the network: the SQL store, the server's handlers
and the TUI's previews all ask these functions, so a rule changes in exactly one place.
A role of ``None`` means "not a member of that collective".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from post001.core.enums import PostStatus, Role, ShareStatus

MODERATORS = frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR})
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
SHARERS = frozenset({Role.OWNER, Role.ADMIN, Role.EDITOR, Role.AUTHOR, Role.CONTRIBUTOR})


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


# --- posts and shares ---------------------------------------------------------------------


def can_edit_post(*, is_author: bool) -> Decision:
    """Edit, publish, unpublish, archive, restore: the author's alone."""
    return ALLOW if is_author else _deny("only the post's author can change it")


def can_delete_post(*, is_author: bool, status: PostStatus, ever_published: bool) -> Decision:
    """Deleting is for drafts nobody else has seen: the author's own, never published.
    Anything readers may have read is archived instead, so links and history hold."""
    if not is_author:
        return _deny("only the post's author can delete it")
    if ever_published or status != PostStatus.DRAFT:
        return _deny("it was published or scheduled, so readers may have seen it; "
                     "archive it instead")
    return ALLOW


def can_share(*, is_author: bool, role: Role | None) -> Decision:
    if not is_author:
        return _deny("only the post's author can share it")
    if role is None:
        return _deny("you are not a member of this collective")
    if role not in SHARERS:
        return _deny(f"your role here is {role.value}; members cannot post")
    return ALLOW


def share_status_on_publish(*, role: Role | None, require_approval: bool) -> ShareStatus | None:
    """The status a share gets when its post is published; None when posting is not allowed."""
    if role in (Role.OWNER, Role.ADMIN, Role.EDITOR):
        return ShareStatus.PUBLISHED
    if role is Role.AUTHOR:
        return ShareStatus.PENDING_APPROVAL if require_approval else ShareStatus.PUBLISHED
    if role is Role.CONTRIBUTOR:
        return ShareStatus.PENDING_APPROVAL
    return None


def can_moderate(*, role: Role | None) -> Decision:
    """Approve or reject pending shares, and read them."""
    if role in MODERATORS:
        return ALLOW
    return _deny("only an owner, admin or editor of the collective can review shares")


def can_remove_share(*, is_author: bool, role: Role | None) -> Decision:
    if is_author or role in MODERATORS:
        return ALLOW
    return _deny("only the author or an owner, admin or editor of the collective can remove it")


def can_read_post(
    *,
    is_author: bool,
    status: PostStatus,
    is_public: bool,
    member_where_published: bool,
    moderator_where_pending: bool = False,
) -> bool:
    """`member_where_published`: the reader holds any role in a collective whose share
    of this post is published. `moderator_where_pending`: the reader is an owner, admin
    or editor of a collective where this post waits for review (or was rejected): they
    must read it to decide."""
    if is_author:
        return True
    if status is not PostStatus.PUBLISHED:
        return False
    return is_public or member_where_published or moderator_where_pending


def can_read_share(*, is_author: bool, status: ShareStatus, role: Role | None,
                   post_readable: bool) -> bool:
    """Outside the author, a share is seen only from inside its collective: a
    non-member learns nothing about which collectives exist, even from a public post."""
    if is_author:
        return True
    if status in (ShareStatus.PENDING_APPROVAL, ShareStatus.REJECTED):
        return role in MODERATORS
    if status is ShareStatus.PUBLISHED:
        return post_readable and role is not None
    return False  # a draft share is the author's business


# --- collectives and members --------------------------------------------------------------


def can_see_collective(*, role: Role | None) -> bool:
    """Non-members get the same answer as for a collective that does not exist."""
    return role is not None


def can_change_settings(*, role: Role | None) -> Decision:
    if role in MANAGERS:
        return ALLOW
    return _deny("only the owner or an admin can change the collective's settings")


def can_add_member(*, actor_role: Role | None, new_role: Role) -> Decision:
    if actor_role not in MANAGERS:
        return _deny("only the owner or an admin can add members")
    if new_role is Role.OWNER:
        return _deny("a collective has exactly one owner; transfer ownership instead")
    if new_role is Role.ADMIN and actor_role is not Role.OWNER:
        return _deny("only the owner can make admins")
    return ALLOW


def can_change_role(*, actor_role: Role | None, target_role: Role, new_role: Role) -> Decision:
    """Change a member's role. `new_role` owner means transferring ownership."""
    if actor_role not in MANAGERS:
        return _deny("only the owner or an admin can change roles")
    if target_role is Role.OWNER:
        return _deny("the owner's role changes only by transferring ownership to someone else")
    if new_role is Role.OWNER and actor_role is not Role.OWNER:
        return _deny("only the owner can transfer ownership")
    if Role.ADMIN in (target_role, new_role) and actor_role is not Role.OWNER:
        return _deny("only the owner can make or unmake admins")
    return ALLOW


def can_remove_member(*, actor_role: Role | None, target_role: Role, is_self: bool) -> Decision:
    if target_role is Role.OWNER:
        return _deny("nobody removes the owner; transfer ownership first")
    if is_self and actor_role is not None:
        return ALLOW  # anyone may leave
    if actor_role not in MANAGERS:
        return _deny("only the owner or an admin can remove members")
    if target_role is Role.ADMIN and actor_role is not Role.OWNER:
        return _deny("only the owner can remove an admin")
    return ALLOW


# --- audit --------------------------------------------------------------------------------


#: Audit actions about a post's selection of collectives (docs/product.md: a draft's
#: selection is its author's business until it is published).
SELECTION_ACTIONS = ("share.added", "share.removed")


def is_draft_selection(action: str, old: dict[str, Any] | None,
                       new: dict[str, Any] | None) -> bool:
    """Whether an audit event records a change to a draft share (a selection)."""
    status = (new or {}).get("status") if action == "share.added" else (old or {}).get(
        "status")
    return action in SELECTION_ACTIONS and status == "draft"


def can_read_audit(*, is_actor: bool, is_post_author: bool, role: Role | None,
                   draft_selection: bool = False) -> bool:
    """`role`: the reader's role in the event's collective, if it has one. A manager of
    that collective reads its events, except another author's draft selections."""
    return is_actor or is_post_author or (role in MANAGERS and not draft_selection)
