"""What to try next after a failure in the app: the TUI's one table of hints.

An error's own actions win (the raiser knew something specific). Otherwise the hint
comes from this table by the error's category and where the writer was, falling back
to the category alone. "Your draft is kept" is said only where it is true: in the
editor, whose text stays on screen and in the recovery file until a save succeeds.
Elsewhere (adding a member, signing in, choosing a token file) nothing was being
written, so no hint talks about drafts. Hints name the app's own keys and buttons.

Free of textual imports: screens and tests use it alike.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from post001.core.errors import Post001Error


class Where(enum.StrEnum):
    """Where the writer was when the error happened."""

    ANYWHERE = ""
    EDITOR = "editor"  # saving or publishing the open draft
    MEMBERS = "members"  # managing a collective's members and settings
    SIGN_IN = "sign_in"  # signing in to a server, choosing a token file
    REVIEW = "review"  # approving or rejecting shares


DRAFT_KEPT = "Your draft is kept"

HINTS: dict[tuple[str, Where], tuple[str, ...]] = {
    ("validation", Where.ANYWHERE): ("Correct the value and try again.",),
    ("validation", Where.EDITOR): (
        f"Correct the highlighted value; {DRAFT_KEPT.lower()} in the editor.",),
    ("validation", Where.SIGN_IN): ("Correct the value and sign in again.",),
    ("conflict", Where.ANYWHERE): (
        "It changed elsewhere in the meantime; open it again and retry.",),
    ("conflict", Where.EDITOR): (
        "Keep your text (overwrite the stored version)",
        "Take the stored version",
        "Save your text as a new draft",
    ),
    ("permission", Where.SIGN_IN): (
        "Ask the server's administrator to check your account.",),
    ("not_found", Where.ANYWHERE): ("Check the name or id; you may not be a member.",),
    ("not_found", Where.MEMBERS): (
        "Check the username; people need an account before they can be added.",),
    ("not_found", Where.SIGN_IN): (
        "Check the path of the token file, or sign in with a password instead.",),
    ("network", Where.ANYWHERE): ("Check the connection and try again.",),
    ("network", Where.EDITOR): (
        f"{DRAFT_KEPT} on this machine; post001 sends it when the server is back.",),
    ("network", Where.SIGN_IN): ("Check the server's address and the connection.",),
    ("database", Where.ANYWHERE): (
        "Try again; if it keeps failing, check the database (`post001 locate`).",),
    ("database", Where.EDITOR): (f"{DRAFT_KEPT}; post001 retries automatically.",),
}


def hints_for(error: Post001Error, where: Where = Where.ANYWHERE) -> list[str]:
    """The hints to show under `error`, raised while the writer was `where`."""
    if error.actions:
        return list(error.actions)
    found = HINTS.get((error.category, where))
    if found is None and error.category == "permission" and error.collective:
        return [f"Ask an owner or admin of {error.collective} for a role that allows this."]
    if found is None:
        found = HINTS.get((error.category, Where.ANYWHERE), ())
    return list(found)
