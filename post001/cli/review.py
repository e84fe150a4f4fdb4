"""`post001 review ...`: moderating the posts shared with your collectives."""

from __future__ import annotations

from uuid import UUID

import click

from post001.cli.app import State, global_options, pass_state, resolve_post_id
from post001.cli.output import clip, emit, post_line, short_id, table, to_json, when


@click.group("review", short_help="Approve or reject posts waiting for review.")
def review_group() -> None:
    """Approve or reject posts waiting in your collectives (owners, admins, editors).

    Authors see why a post was rejected, edit it, and resubmit it.
    """


def _pending_ids(state: State, slug: str) -> list[UUID]:
    return [item.post_id for item in state.store().pending_reviews(slug)]


@review_group.command("list")
@click.argument("slug", required=False)
@global_options
@pass_state
def review_list(state: State, slug: str | None) -> None:
    """List the posts waiting for your approval: in every collective you moderate, or
    only in SLUG."""
    items = state.store().pending_reviews(slug)
    empty = (f"Nothing waiting in {slug}." if slug
             else "Nothing is waiting for your review.")
    emit(
        state.json,
        to_json(items),
        lambda: table(
            ["post", "in", "author", "shared", "title", "excerpt"],
            ([short_id(i.post_id), i.collective, i.author, when(i.shared_at),
              clip(i.title, 40), clip(i.excerpt, 40)] for i in items),
            empty=empty,
        ),
    )


@review_group.command("approve")
@click.argument("post_id", metavar="POST_ID")
@click.option("--in", "slug", required=True, metavar="SLUG", help="The collective.")
@global_options
@pass_state
def review_approve(state: State, post_id: str, slug: str) -> None:
    """Approve a pending post: it is published in SLUG.

    POST_ID is a post id or a unique prefix of one pending in SLUG.
    """
    pid = resolve_post_id(state, post_id, also=_pending_ids(state, slug))
    post = state.store().approve(pid, slug)
    emit(state.json, to_json(post), lambda: post_line(f"Approved in {slug}:", post))


@review_group.command("reject")
@click.argument("post_id", metavar="POST_ID")
@click.option("--in", "slug", required=True, metavar="SLUG", help="The collective.")
@click.option("--reason", required=True, metavar="TEXT",
              help="What the author should change; they will read it.")
@global_options
@pass_state
def review_reject(state: State, post_id: str, slug: str, reason: str) -> None:
    """Reject a pending post in SLUG, telling the author why.

    POST_ID is a post id or a unique prefix of one pending in SLUG.
    """
    pid = resolve_post_id(state, post_id, also=_pending_ids(state, slug))
    post = state.store().reject(pid, slug, reason)
    emit(state.json, to_json(post), lambda: post_line(f"Rejected in {slug}:", post))


@review_group.command("resubmit", short_help="Send a rejected post back for review.")
@click.argument("post_id", metavar="POST_ID")
@click.option("--in", "slug", required=True, metavar="SLUG", help="The collective.")
@global_options
@pass_state
def review_resubmit(state: State, post_id: str, slug: str) -> None:
    """Send your rejected post back to SLUG's review queue (after editing it).

    POST_ID is one of your posts: its id or a unique prefix (4+ hex digits).
    """
    post = state.store().resubmit(resolve_post_id(state, post_id), slug)
    emit(state.json, to_json(post), lambda: post_line(f"Resubmitted to {slug}:", post))
