"""`post001 demo`: the TUI on a separate, realistic sample database.

The sample is written through the store API only (so it obeys every rule), in its own
file at `demo_database_url()`; the user's real database is never opened. The writer,
`ada`, holds every role somewhere, some collectives review posts first, her posts are in
every status, and other writers' posts wait for her review.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from post001.core.store import Store

WRITER = "ada"

#: slug, name, owner, require_approval, ada's role (None: she owns it), other members
COLLECTIVES: tuple[tuple[str, str, str, bool, str | None, tuple[str, ...]], ...] = (
    ("ada-notes", "Ada's Notes", "ada", False, None, ("grace", "linus", "ken")),
    ("rust-weekly", "Rust Weekly", "grace", True, "admin", ("linus", "margaret", "ken")),
    ("data-science", "Data Science Digest", "linus", False, "editor", ("grace", "margaret")),
    ("open-source-stories", "Open Source Stories", "margaret", True, "author",
     ("grace", "linus", "ken")),
    ("terminal-tools", "Terminal Tools", "ken", False, "author", ("grace",)),
    ("security-digest", "Security Digest", "grace", False, "contributor", ("linus", "ken")),
    ("design-systems", "Design Systems", "linus", False, "member", ("margaret",)),
)

BODY = """\
Most of what we call *writing* is rewriting. This draft saves itself as you type, so
close the terminal whenever you like: nothing is lost.

## Why one post, many collectives

- You own the post; collectives **share** it.
- Each share has its own status: published, in review, or rejected with a reason.
- Edit once and every collective shows the new text.

```python
print("hello, collectives")
```
"""


def _users(url: str, connect: Callable[..., Store]) -> dict[str, Store]:
    names = ("ada", "grace", "linus", "margaret", "ken")
    return {name: connect(url, user=name) for name in names}


def build_demo_database(url: str) -> None:
    """Fill a fresh database at `url` with the sample."""
    from post001.core.api import connect
    from post001.core.models import CollectiveCreate, PostCreate, Role

    stores = _users(url, connect)
    try:
        ada = stores["ada"]
        for slug, name, owner, approval, ada_role, others in COLLECTIVES:
            stores[owner].create_collective(CollectiveCreate(
                slug=slug, name=name, require_approval=approval,
                description=f"A demo collective: {name}."))
            if ada_role is not None:
                stores[owner].add_member(slug, "ada", Role(ada_role))
            for other in others:
                role = Role.AUTHOR if other in ("grace", "linus") else Role.MEMBER
                if slug == "ada-notes" and other == "grace":
                    role = Role.CONTRIBUTOR
                stores[owner].add_member(slug, other, role)

        def post(title: str, slugs: list[str], **fields: object) -> object:
            return ada.create_post(PostCreate.model_validate(
                {"title": title, "subtitle": fields.pop("subtitle", ""), "content": BODY,
                 "collectives": slugs, **fields}))

        post("Notes on writing in the terminal", ["ada-notes", "terminal-tools"],
             subtitle="A draft: open it and type")
        published = post("Shipping a multi-collective publisher",
                         ["ada-notes", "rust-weekly", "data-science", "terminal-tools"],
                         subtitle="Published everywhere at once")
        ada.publish(published.id)  # type: ignore[attr-defined]
        reviewed = post("What open source taught me about review",
                        ["open-source-stories", "security-digest"])
        ada.publish(reviewed.id)  # type: ignore[attr-defined]
        # Out in her own collective, turned down in another: a post is "published" only
        # when some collective shows it (tests/test_demo_data.py keeps it so).
        rejected = post("Ten tips for faster CI", ["ada-notes", "open-source-stories"])
        ada.publish(rejected.id)  # type: ignore[attr-defined]
        stores["margaret"].reject(rejected.id, "open-source-stories",  # type: ignore[attr-defined]
                                  "Lovely, but off-topic here: tell us a story about a project.")
        from post001.core.clock import utcnow

        scheduled = post("Monday digest", ["ada-notes"],
                         publish_at=utcnow() + timedelta(days=3))
        ada.publish(scheduled.id)  # type: ignore[attr-defined]
        archived = post("An old announcement", ["ada-notes"])
        ada.publish(archived.id)  # type: ignore[attr-defined]
        ada.archive_post(archived.id)  # type: ignore[attr-defined]

        # Other writers' posts waiting for ada's decision.
        for author, title, slug in (
            ("grace", "Reading list for February", "ada-notes"),
            ("linus", "Lifetimes without tears", "rust-weekly"),
        ):
            theirs = stores[author].create_post(PostCreate(title=title, content=BODY,
                                                          collectives=[slug]))
            stores[author].publish(theirs.id)
    finally:
        for store in stores.values():
            store.close()


def ensure_demo_database() -> str:
    """The demo database URL, building the sample the first time (or after a reset)."""
    from post001.core.config import demo_database_url

    url = demo_database_url()
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists():
        try:
            build_demo_database(url)
        except BaseException:
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink(missing_ok=True)  # a half-built sample would mislead
            raise
    return url


def run_demo() -> None:
    """`post001 demo`: the TUI as `ada` on the sample database."""
    from post001.core.config import Settings
    from post001.tui.app import build_app

    settings = Settings()
    url = ensure_demo_database()

    def open_store() -> Store:
        from post001.core.api import connect

        return connect(url, WRITER, settings=settings)

    build_app(open_store, settings, demo=True).run()
