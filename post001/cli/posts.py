"""`post001 post ...`: write, share, publish and look back at posts."""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from post001.cli.app import State, global_options, pass_state, resolve_post_id
from post001.cli.output import (
    clip,
    emit,
    post_header,
    post_line,
    posts_table,
    short_id,
    table,
    to_json,
    when,
)
from post001.core.enums import PostStatus
from post001.core.errors import Post001Error, ValidationError
from post001.core.labels import outcome_label, share_label
from post001.core.limits import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from post001.core.text import quote_title, word_count

if TYPE_CHECKING:
    from post001.core.frontmatter_io import PostDocument
    from post001.core.models import Post, Preflight, PublishResult
    from post001.core.sql.quick_listing import QuickPage

# The models (pydantic) load in the commands that use them, not with this module: `post
# list` on a local SQLite file reads its page without them (post001/core/sql/quick_listing.py).

STATUSES = [status.value for status in PostStatus]


@click.group("post")
def post_group() -> None:
    """Write posts, share them with collectives, publish them.

    A post is yours; sharing it with collectives puts it in front of their members.
    Publishing fans it out to every collective you picked, each with its own status
    (published, or pending approval where the collective reviews first).

    \b
    A typical session:
      post001 post new --file hello.md --to weekend-bakers
      post001 post preflight 1a2b
      post001 post publish 1a2b
    """


def read_text(file: IO[str]) -> str:
    """All of a file opened as UTF-8; other encodings are a validation error naming the
    file, the encoding expected and where the first bad byte is."""
    name = getattr(file, "name", "") or "-"
    shown = "standard input" if name in ("-", "<stdin>") else name
    try:
        return file.read()
    except UnicodeDecodeError as err:
        raise ValidationError(
            f"{shown} is not UTF-8 text: byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start:,} is not valid UTF-8. Save it as UTF-8 (e.g. `iconv -f "
            f"LATIN1 -t UTF-8 {name} > fixed.md`) and try again.",
            field="file", details={"file": shown, "encoding": "utf-8",
                                   "offset": err.start}) from None


def _read_file(file: IO[str] | None) -> PostDocument:
    # YAML is imported only by the commands that read or write files.
    from post001.core.frontmatter_io import PostDocument, read_post_document

    if file is None:
        return PostDocument()
    doc = read_post_document(read_text(file))
    if doc.ignored:
        click.echo(
            f"note: ignoring front matter keys post001 does not use: {', '.join(doc.ignored)}",
            err=True,
        )
    return doc


def _publish_json(result: PublishResult) -> dict[str, Any]:
    """The post, plus what publishing did under "publish"."""
    data: dict[str, Any] = to_json(result.post)
    data["publish"] = {
        "scheduled": result.scheduled,
        "replayed": result.replayed,
        "changed": result.changed,
        "outcomes": to_json(result.outcomes),
    }
    return data


def _show_publish(result: PublishResult) -> None:
    post = result.post
    name = f"{short_id(post.id)} {quote_title(clip(post.title, 60), untitled='(untitled)')}"
    if result.scheduled:
        click.echo(f"Scheduled {name} for {when(post.publish_at)} UTC.")
    else:
        click.echo(f"Published {name} (version {post.version}).")
    if result.replayed:
        click.echo("  (this idempotency key was used before: nothing was done twice)")
    elif not result.changed:
        click.echo("  (it was already out: nothing changed)")
    for outcome in result.outcomes:
        reason = f": {outcome.rejection_reason}" if outcome.rejection_reason else ""
        click.echo(f"  {outcome.collective:<24} {share_label(outcome.status)}{reason}")
    if not result.outcomes:
        click.echo("  no collectives: the post appears on your profile only")


# --- writing ------------------------------------------------------------------------------


@post_group.command("new")
@click.option("--title", default=None, help="The title (up to 200 characters).")
@click.option("--subtitle", default=None, help="The subtitle (up to 300 characters).")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), default=None,
              metavar="PATH",
              help="Markdown to use as the body, with optional YAML front matter "
                   "(title, subtitle, byline, public, seo_title, meta_description, "
                   "thumbnail_url, publish_at, collectives). '-' reads standard input.")
@click.option("--to", "to", multiple=True, metavar="SLUG",
              help="Share with this collective (repeat for several); replaces the "
                   "file's `collectives`.")
@click.option("--publish", is_flag=True, help="Publish right away (or schedule, with a "
                                              "future --publish-at).")
@click.option("--publish-at", default=None, metavar="ISO8601",
              help="When to publish, e.g. 2026-03-01T09:30:00+01:00 (no offset means UTC).")
@click.option("--idempotency-key", default=None, metavar="K",
              help="With --publish: a retried publish with the same key does nothing twice.")
@global_options
@pass_state
def post_new(
    state: State,
    title: str | None,
    subtitle: str | None,
    file: IO[str] | None,
    to: tuple[str, ...],
    publish: bool,
    publish_at: str | None,
    idempotency_key: str | None,
) -> None:
    """Write a new post (a draft unless --publish). Options override the file's front matter.

    \b
    Examples:
      post001 post new --title "Sourdough at home"
      post001 post new --file hello.md --to weekend-bakers --to bread --publish
      echo "Body text" | post001 post new --title Quick --file -
    """
    from post001.core.frontmatter_io import parse_datetime

    doc = _read_file(file)
    fields = dict(doc.fields)
    if title is not None:
        fields["title"] = title
    if subtitle is not None:
        fields["subtitle"] = subtitle
    if publish_at is not None:
        fields["publish_at"] = parse_datetime(publish_at, field_name="publish_at")
    collectives = list(to) if to else list(doc.collectives or [])
    from post001.core.models import PostCreate

    data = PostCreate(**fields, collectives=collectives)
    store = state.store()
    post = store.create_post(data)
    if not publish:
        emit(state.json, to_json(post), lambda: post_line("Created draft", post))
        return
    try:
        result = store.publish(post.id, idempotency_key=idempotency_key)
    except Post001Error as exc:
        # The draft exists: say so, so a retry does not write it twice.
        exc.message = (
            f"{exc.message} The draft was saved as {post.id}; fix it and run "
            f"`post001 post publish {short_id(post.id)}`."
        )
        exc.details.setdefault("post_id", str(post.id))
        raise
    emit(state.json, _publish_json(result), lambda: _show_publish(result))


@post_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None,
              help="Only posts with this status.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE_SIZE), default=DEFAULT_PAGE_SIZE,
              show_default=True, metavar="N", help=f"Posts per page (1-{MAX_PAGE_SIZE}).")
@click.option("--cursor", default=None, metavar="C",
              help="Where the page before ended (its next_cursor); omit for the newest.")
@global_options
@pass_state
def post_list(state: State, status: str | None, limit: int, cursor: str | None) -> None:
    """List your posts, most recently changed first, one page at a time.

    \b
    --json prints {"items": [...], "next_cursor": C}; next_cursor is null on the last
    page. To read everything in a script, loop until it is null:
      post001 post list --json --limit 200 --cursor "$C"
    """
    quick = _quick_page(state, status, limit, cursor)
    if quick is not None:
        from post001.core.sql.quick_listing import as_json

        items: list[Any] = list(quick.items)
        next_cursor = quick.next_cursor
        data: Any = [as_json(item) for item in quick.items] if state.json else None
    else:
        page = state.store().posts_page(limit, cursor,
                                        status=PostStatus(status) if status else None)
        items, next_cursor = list(page.items), page.next_cursor
        data = to_json(page.items) if state.json else None

    def human() -> None:
        empty = ("No posts yet. Write one with `post001 post new --title TITLE`."
                 if status is None else f"No {status} posts.")
        posts_table(items, empty=empty if cursor is None else "No more posts.")
        if next_cursor:
            more = ["post001", "post", "list"]
            if status:
                more += ["--status", status]
            if limit != DEFAULT_PAGE_SIZE:
                more += ["--limit", str(limit)]
            click.echo(f"More: {' '.join(more)} --cursor {next_cursor}")

    emit(state.json, {"items": data, "next_cursor": next_cursor}, human)


#: Set (to anything) only by tests: `post list` always takes the full path, so its output
#: can be compared with the lean path's (tests/test_quick_listing.py).
FULL_PATH_ENV = "_POST001_LISTING_FULL_PATH"


def _quick_page(state: State, status: str | None, limit: int, cursor: str | None
                ) -> QuickPage | None:
    """The page read from a local SQLite file without SQLAlchemy or pydantic, or None
    for the full path (anything but a plain, ready, local SQLite store; see
    post001/core/sql/quick_listing.py)."""
    import os

    if os.environ.get(FULL_PATH_ENV):
        return None
    where = state.local_store()
    if where is None:
        return None
    from post001.core.sql.quick_listing import read_page

    url, user = where
    return read_page(url, user, status=status, limit=limit, cursor=cursor)


@post_group.command("show")
@click.argument("post_id", metavar="ID")
@global_options
@pass_state
def post_show(state: State, post_id: str) -> None:
    """Show a post: its facts, its shares and its body.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    post = state.store().get_post(resolve_post_id(state, post_id))

    def human() -> None:
        post_header(post)
        click.echo("-" * 60)
        click.echo(post.content)

    emit(state.json, to_json(post), human)


@post_group.command("edit")
@click.argument("post_id", metavar="ID")
@click.option("--title", default=None, help="A new title.")
@click.option("--subtitle", default=None, help="A new subtitle.")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), default=None,
              metavar="PATH",
              help="Markdown with optional front matter: its body replaces the content, "
                   "its keys the fields they name; '-' reads standard input.")
@click.option("--expect-version", type=int, default=None, metavar="N",
              help="Refuse (conflict) unless the post is still at version N.")
@global_options
@pass_state
def post_edit(
    state: State,
    post_id: str,
    title: str | None,
    subtitle: str | None,
    file: IO[str] | None,
    expect_version: int | None,
) -> None:
    """Change a post. Edits to a published post show everywhere it is shared.

    Without --expect-version the current version is used; with it, a post changed
    elsewhere in the meantime is a conflict and nothing is overwritten.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    doc = _read_file(file)
    fields = dict(doc.fields)
    if title is not None:
        fields["title"] = title
    if subtitle is not None:
        fields["subtitle"] = subtitle
    if not fields and doc.collectives is None:
        raise click.UsageError("Nothing to change: give --title, --subtitle or --file.")
    from post001.core.models import PostUpdate

    changes = PostUpdate(**fields)
    store = state.store()
    pid = resolve_post_id(state, post_id)
    post = store.get_post(pid)
    version = expect_version if expect_version is not None else post.version
    if fields:
        post = store.update_post(pid, changes, expected_version=version)
    if doc.collectives is not None and doc.collectives != [s.collective for s in post.shares]:
        post = store.set_collectives(pid, doc.collectives)
    emit(state.json, to_json(post), lambda: post_line("Saved", post))


# --- sharing ------------------------------------------------------------------------------


@post_group.command("share")
@click.argument("post_id", metavar="ID")
@click.option("--to", "to", multiple=True, required=True, metavar="SLUG",
              help="The collective to share with (repeat for several).")
@global_options
@pass_state
def post_share(state: State, post_id: str, to: tuple[str, ...]) -> None:
    """Share a post with more collectives.

    On a published post each new share gets the status your role there gives
    (published, or pending approval); on a draft it waits for the publish.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    store = state.store()
    pid = resolve_post_id(state, post_id)
    post: Post | None = None
    for slug in dict.fromkeys(to):
        post = store.add_share(pid, slug)
    assert post is not None
    final = post
    emit(state.json, to_json(final), lambda: post_line("Shared", final))


@post_group.command("unshare", short_help="Take a post out of a collective.")
@click.argument("post_id", metavar="ID")
@click.option("--from", "from_", required=True, metavar="SLUG",
              help="The collective to take the post out of.")
@global_options
@pass_state
def post_unshare(state: State, post_id: str, from_: str) -> None:
    """Take a post out of a collective (its author, or a moderator of the collective).

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    pid = resolve_post_id(state, post_id)
    post = state.store().remove_share(pid, from_)
    if post is None:
        emit(state.json, {"id": str(pid), "removed_from": from_},
             lambda: click.echo(f"Removed {short_id(pid)} from {from_}."))
        return
    emit(state.json, to_json(post), lambda: post_line(f"Removed from {from_}:", post))


# --- publishing ---------------------------------------------------------------------------


def _show_preflight(plan: Preflight) -> None:
    table(
        ["collective", "role", "members", "outcome", "why"],
        (
            [p.collective, p.role.value if p.role else "-", p.member_count,
             outcome_label(p.outcome), p.reason or ""]
            for p in plan.collectives
        ),
        empty="No collectives selected.",
    )
    for problem in plan.errors:
        click.echo(f"error: {problem.message}")
    for problem in plan.warnings:
        click.echo(f"warning: {problem.message}")
    click.echo(f"reach: {plan.reach:,} {'person' if plan.reach == 1 else 'people'} besides "
               "you (distinct members of the collectives it goes to)")
    click.echo("Ready to publish." if plan.can_publish else "Cannot publish yet.")


@post_group.command("preflight")
@click.argument("post_id", metavar="ID")
@global_options
@pass_state
def post_preflight(state: State, post_id: str) -> None:
    """Show what publishing would do, without publishing.

    Per collective: publishes, goes to review, or not allowed (and why); then the
    errors that block publishing, warnings, and the estimated reach.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    plan = state.store().preflight(resolve_post_id(state, post_id))
    emit(state.json, to_json(plan), lambda: _show_preflight(plan))


@post_group.command("publish", short_help="Publish a post to its collectives, all or nothing.")
@click.argument("post_id", metavar="ID")
@click.option("--idempotency-key", default=None, metavar="K",
              help="Retrying with the same key returns the first result and does nothing "
                   "twice.")
@global_options
@pass_state
def post_publish(state: State, post_id: str, idempotency_key: str | None) -> None:
    """Publish a post to every collective it is shared with: all or nothing.

    If any collective does not allow it, nothing is published and the error names it.
    A post with a future publish time is scheduled instead (see `post001 scheduler`).

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    result = state.store().publish(
        resolve_post_id(state, post_id), idempotency_key=idempotency_key
    )
    emit(state.json, _publish_json(result), lambda: _show_publish(result))


@post_group.command("unpublish")
@click.argument("post_id", metavar="ID")
@global_options
@pass_state
def post_unpublish(state: State, post_id: str) -> None:
    """Return a published or scheduled post and its shares to draft.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    post = state.store().unpublish(resolve_post_id(state, post_id))
    emit(state.json, to_json(post), lambda: post_line("Unpublished", post))


@post_group.command("archive", short_help="Archive a post (kept, out of every collective).")
@click.argument("post_id", metavar="ID")
@global_options
@pass_state
def post_archive(state: State, post_id: str) -> None:
    """Archive a post: it leaves every collective but is kept, with its history.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    post = state.store().archive_post(resolve_post_id(state, post_id))
    emit(state.json, to_json(post), lambda: post_line("Archived", post))


@post_group.command("delete", short_help="Delete a draft that was never published.")
@click.argument("post_id", metavar="ID")
@click.option("--yes", is_flag=True, help="Do not ask; needed when not at a terminal.")
@global_options
@pass_state
def post_delete(state: State, post_id: str, yes: bool) -> None:
    """Delete a draft that was never published, with its history and selections.

    Posts that readers may have seen (published once, or scheduled) are archived
    instead: see `post001 post archive`. Deleting cannot be undone; export the draft
    first (`post001 post export ID --out FILE`) to keep a copy.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    store = state.store()
    pid = resolve_post_id(state, post_id)
    if not yes:
        import sys

        if not sys.stdin.isatty():
            raise ValidationError("Deleting cannot be undone; add --yes to delete without "
                                  "a question.", field="yes")
        post = store.get_post(pid)
        name = quote_title(clip(post.title, 60), untitled="(untitled)")
        click.confirm(f"Delete the draft {name} ({word_count(post.content)} words)?",
                      abort=True)
    store.delete_post(pid)
    emit(state.json, {"id": str(pid), "deleted": True},
         lambda: click.echo(f"Deleted draft {short_id(pid)}."))


# --- files and history --------------------------------------------------------------------


@post_group.command("export")
@click.argument("post_id", metavar="ID")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=None, metavar="PATH", help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="Replace the --out file if it exists.")
@global_options
@pass_state
def post_export(state: State, post_id: str, out: Path | None, force: bool) -> None:
    """Write a post as Markdown with YAML front matter.

    `post001 post import FILE` reads the result back to an equal post, so this is
    also how to copy a post or edit it in your own editor. An existing --out file is
    kept unless you pass --force.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    from post001.core.frontmatter_io import render_post_document

    if out is not None and out.exists() and not force:
        raise ValidationError(f"{out} already exists; nothing was written.", field="out",
                              actions=["Choose another file, or add --force to replace it."])
    post = state.store().get_post(resolve_post_id(state, post_id))
    document = render_post_document(post)
    if out is not None:
        out.write_text(document, encoding="utf-8")
        emit(state.json, {"id": str(post.id), "path": str(out)},
             lambda: click.echo(f"Wrote {out}"))
        return
    emit(state.json, {"id": str(post.id), "document": document},
         lambda: click.echo(document, nl=not document.endswith("\n")))


@post_group.command("import", short_help="Make a draft from a Markdown file (see export).")
@click.argument("file", type=click.File("r", encoding="utf-8"), metavar="FILE")
@click.option("--to", "to", multiple=True, metavar="SLUG",
              help="Share with this collective (repeat for several); replaces the "
                   "file's `collectives`.")
@global_options
@pass_state
@click.pass_context
def post_import(ctx: click.Context, state: State, file: IO[str], to: tuple[str, ...]
                ) -> None:
    """Make a new draft from FILE, Markdown with optional YAML front matter: the
    counterpart of `post001 post export`. '-' reads standard input.

    \b
    Example (copy a post, edit it in your own editor, bring it back):
      post001 post export 1a2b --out sourdough.md
      $EDITOR sourdough.md
      post001 post import sourdough.md
    """
    ctx.invoke(post_new, file=file, to=to)


@post_group.command("revisions", short_help="List a post's saved versions, newest first.")
@click.argument("post_id", metavar="ID")
@global_options
@pass_state
def post_revisions(state: State, post_id: str) -> None:
    """List the saved versions of a post, newest first (see `post restore`).

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    revisions = state.store().revisions(resolve_post_id(state, post_id))
    emit(
        state.json,
        to_json(revisions),
        lambda: table(
            ["version", "saved", "words", "title"],
            ([r.version, when(r.saved_at), word_count(r.content), clip(r.title, 50)]
             for r in revisions),
            empty="No revisions yet.",
        ),
    )


@post_group.command("restore", short_help="Bring back an earlier version's text.")
@click.argument("post_id", metavar="ID")
@click.argument("version", type=int)
@global_options
@pass_state
def post_restore(state: State, post_id: str, version: int) -> None:
    """Bring back VERSION's title, subtitle and content as a new version.

    Nothing is lost: the current text stays in the history.

    ID is a post id or a unique prefix of one (4+ hex digits, see `post001 post list`).
    """
    post = state.store().restore_revision(resolve_post_id(state, post_id), version)
    emit(state.json, to_json(post), lambda: post_line(f"Restored version {version} as", post))
