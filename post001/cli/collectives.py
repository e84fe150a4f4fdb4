"""`post001 collective ...`: group publications, their members and settings."""

from __future__ import annotations

from typing import Any

import click

from post001.cli.app import State, global_options, pass_state
from post001.cli.output import clip, emit, table, to_json, when
from post001.core.models import (
    Collective,
    CollectiveCreate,
    CollectiveUpdate,
    Member,
    Membership,
    Role,
)

ROLES = [role.value for role in Role]


@click.group("collective")
def collective_group() -> None:
    """Create collectives, find yours, manage members and settings.

    A collective is named by its slug (lowercase words joined by hyphens, e.g.
    weekend-bakers). Roles, most powerful first: owner, admin, editor, author,
    contributor, member.
    """


def _can_post(m: Membership) -> str:
    if not m.can_post:
        return f"no: {m.reason or 'not allowed'}"
    reviewed = m.role is Role.CONTRIBUTOR or (m.role is Role.AUTHOR and m.require_approval)
    return "yes, reviewed first" if reviewed else "yes"


def _show_collective(c: Collective) -> None:
    click.echo(click.style(f"{c.name} ({c.slug})", bold=True))
    if c.description:
        click.echo(c.description)
    approval = "posts by authors need approval" if c.require_approval else "no approval needed"
    click.echo(f"owner {c.owner}  members {c.member_count}  {approval}")
    click.echo(f"created {when(c.created_at)}  updated {when(c.updated_at)}")


@collective_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The collective's display name.")
@click.option("--description", default="", metavar="TEXT", help="What it is about.")
@click.option("--require-approval", is_flag=True,
              help="Posts by authors wait for an editor's approval.")
@global_options
@pass_state
def collective_create(
    state: State, slug: str, name: str, description: str, require_approval: bool
) -> None:
    """Create the collective SLUG; you become its owner.

    \b
    Example:
      post001 collective create weekend-bakers --name "Weekend Bakers" --require-approval
    """
    data = CollectiveCreate(
        slug=slug, name=name, description=description, require_approval=require_approval
    )
    collective = state.store().create_collective(data)
    emit(state.json, to_json(collective),
         lambda: click.echo(f"Created {collective.slug}; you are its owner."))


@collective_group.command("list", short_help="List your collectives: role, members, can post.")
@click.option("--query", "-q", default="", metavar="Q",
              help="Only collectives whose name or slug contains Q (any case).")
@click.option("--postable", is_flag=True, help="Only collectives where you can post.")
@click.option("--sort", type=click.Choice(["role", "name", "members"]), default="role",
              show_default=True, help="Order: your role (owner first), name, or member count.")
@global_options
@pass_state
def collective_list(state: State, query: str, postable: bool, sort: str) -> None:
    """List the collectives you belong to, with your role and whether you can post."""
    rows = state.store().my_collectives(query, postable_only=postable, sort=sort)  # type: ignore[arg-type]
    emit(
        state.json,
        to_json(rows),
        lambda: table(
            ["slug", "name", "role", "members", "can post"],
            (
                [m.slug, clip(m.name, 32), m.role.value, m.member_count, _can_post(m)]
                for m in rows
            ),
            empty="No collectives match." if query or postable else
            "You are in no collective yet. Create one with "
            "`post001 collective create SLUG --name NAME`, or ask an owner to add you.",
        ),
    )


@collective_group.command("show")
@click.argument("slug")
@global_options
@pass_state
def collective_show(state: State, slug: str) -> None:
    """Show the collective SLUG and its members."""
    store = state.store()
    collective = store.get_collective(slug)
    members = store.members(slug)
    data: dict[str, Any] = to_json(collective)
    data["members"] = to_json(members)

    def human() -> None:
        _show_collective(collective)
        click.echo()
        _members_table(members)

    emit(state.json, data, human)


@collective_group.command("settings")
@click.argument("slug")
@click.option("--name", default=None, help="A new display name.")
@click.option("--description", default=None, metavar="TEXT", help="A new description.")
@click.option("--require-approval/--no-require-approval", default=None,
              help="Whether authors' posts wait for an editor's approval.")
@global_options
@pass_state
def collective_settings(
    state: State, slug: str, name: str | None, description: str | None,
    require_approval: bool | None,
) -> None:
    """Change the settings of SLUG (owners and admins). With no option, show them."""
    changes = {
        key: value
        for key, value in (("name", name), ("description", description),
                           ("require_approval", require_approval))
        if value is not None
    }
    store = state.store()
    if changes:
        collective = store.update_collective(slug, CollectiveUpdate(**changes))
    else:
        collective = store.get_collective(slug)
    emit(state.json, to_json(collective), lambda: _show_collective(collective))


# --- members ------------------------------------------------------------------------------


@collective_group.group("member", short_help="Add, list and remove members; change roles.")
def member_group() -> None:
    """Add members, change their roles, remove them (owners and admins)."""


def _members_table(members: list[Member]) -> None:
    table(
        ["username", "display name", "role", "joined"],
        ([m.username, m.display_name or "-", m.role.value, when(m.joined_at)] for m in members),
        empty="No members.",
    )


def _member_line(verb: str, slug: str, member: Member) -> None:
    click.echo(f"{verb} {member.username} in {slug} as {member.role.value}.")


@member_group.command("add")
@click.argument("slug")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True,
              help="The new member's role.")
@global_options
@pass_state
def member_add(state: State, slug: str, username: str, role: str) -> None:
    """Add USERNAME to the collective SLUG."""
    member = state.store().add_member(slug, username, Role(role))
    emit(state.json, to_json(member), lambda: _member_line("Added", slug, member))


@member_group.command("set-role")
@click.argument("slug")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="The new role; 'owner' transfers ownership (you become an admin).")
@global_options
@pass_state
def member_set_role(state: State, slug: str, username: str, role: str) -> None:
    """Change the role of USERNAME in SLUG."""
    member = state.store().set_role(slug, username, Role(role))
    emit(state.json, to_json(member), lambda: _member_line("Now", slug, member))


@member_group.command("remove")
@click.argument("slug")
@click.argument("username")
@global_options
@pass_state
def member_remove(state: State, slug: str, username: str) -> None:
    """Remove USERNAME from SLUG (the owner cannot be removed)."""
    state.store().remove_member(slug, username)
    emit(state.json, {"collective": slug, "username": username, "removed": True},
         lambda: click.echo(f"Removed {username} from {slug}."))


@member_group.command("list")
@click.argument("slug")
@global_options
@pass_state
def member_list(state: State, slug: str) -> None:
    """List the members of SLUG with their roles."""
    members = state.store().members(slug)
    emit(state.json, to_json(members), lambda: _members_table(members))
