"""What to try next after a failed command: the CLI's one table of hints.

An error's own actions win (the raiser knew something specific, like "run `post001
login URL`"). Otherwise the hint comes from this table, by the error's category and the
command that failed, falling back to the category alone. Every hint names something a
person at a shell can do: post001 commands and options, never the TUI's buttons, and it
never promises a kept draft, since a command that failed saved nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from post001.core.errors import Post001Error

#: (category, command path without "post001", or "" for any command) -> hints
HINTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("validation", ""): ("Correct the value and run the command again.",),
    ("validation", "post new"): (
        "Correct the value and run the command again; no post was created.",),
    ("validation", "post edit"): (
        "Correct the value and run the command again; the stored post is unchanged.",),
    ("validation", "post import"): (
        "Correct the file and run the command again; no post was created.",),
    ("conflict", ""): (
        "It changed while the command ran; run the command again to act on the current "
        "version.",),
    ("conflict", "post edit"): (
        "See what is stored now with `post001 post show ID`.",
        "Run `post001 post edit ID ...` again to apply your change on top of it; with "
        "--expect-version N it is refused unless the post is still at version N.",
        "Or keep your text as a new draft: `post001 post export ID --out FILE`, edit, "
        "then `post001 post import FILE`.",
    ),
    ("conflict", "post restore"): (
        "See the current version with `post001 post revisions ID`, then restore again.",),
    ("permission", "user add"): (
        "On a team server, accounts are made by its administrator "
        "(`post001 server user add USERNAME` on the server's machine).",),
    ("not_found", ""): (
        "Check the name or id: `post001 post list` shows your posts, "
        "`post001 collective list` your collectives.",),
    ("not_found", "review approve"): (
        "`post001 review list` shows the posts waiting for your review.",),
    ("not_found", "review reject"): (
        "`post001 review list` shows the posts waiting for your review.",),
    ("network", ""): (
        "Check that the server is running and reachable (`post001 status`), then run the "
        "command again.",),
    ("database", ""): (
        "Check --db or POST001_DATABASE_URL (`post001 locate` shows the default) and "
        "that the database is running.",),
}


def hints_for(error: Post001Error, command: str = "") -> list[str]:
    """The hints to print under `error` raised by `command` (e.g. "post edit")."""
    if error.actions:
        return list(error.actions)
    found = HINTS.get((error.category, command))
    if found is None and error.category == "permission" and error.collective:
        return [f"Ask an owner or admin of {error.collective} for a role that allows this "
                f"(`post001 collective member list {error.collective}` shows who they are)."]
    if found is None:
        found = HINTS.get((error.category, ""), ())
    return list(found)
