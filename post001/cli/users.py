"""`post001 user ...`: local profiles (on a server, accounts the administrator made)."""

from __future__ import annotations

import click

from post001.cli.app import State, global_options, pass_state
from post001.cli.output import emit, table, to_json, when


@click.group("user")
def user_group() -> None:
    """Add and list users (the people who write, share and review)."""


@user_group.command("add")
@click.argument("username")
@click.option("--display-name", default="", metavar="NAME",
              help="The name shown next to their posts.")
@global_options
@pass_state
def user_add(state: State, username: str, display_name: str) -> None:
    """Add the user USERNAME (3-32 characters of a-z, 0-9 and _).

    \b
    Example:
      post001 user add bob --display-name "Bob Baker"
    """
    user = state.store().add_user(username, display_name)
    emit(state.json, to_json(user), lambda: click.echo(f"Added user {user.username}."))


@user_group.command("list")
@global_options
@pass_state
def user_list(state: State) -> None:
    """List every user: username, display name and when they joined."""
    users = state.store().list_users()
    emit(
        state.json,
        to_json(users),
        lambda: table(
            ["username", "display name", "since"],
            ([u.username, u.display_name or "-", when(u.created_at)] for u in users),
            empty="No users yet.",
        ),
    )
