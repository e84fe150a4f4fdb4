"""`post001 audit`, `post001 search` and `post001 scheduler`."""

from __future__ import annotations

import json
from typing import Any

import click

from post001.cli.app import State, global_options, pass_state, resolve_post_id
from post001.cli.output import clip, emit, posts_table, short_id, to_json, when
from post001.core.errors import Post001Error


def _value(value: Any, users: dict[str, str]) -> str:
    if isinstance(value, str):
        return users.get(value, value)
    if isinstance(value, list):
        return "; ".join(_value(v, users) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return str(value)


def _change(old: dict[str, Any] | None, new: dict[str, Any] | None,
            users: dict[str, str]) -> str:
    """What changed, in words: "role author → editor, user bob" (user ids as names)."""
    old, new = old or {}, new or {}
    parts = []
    for key in dict.fromkeys([*old, *new]):
        name = "user" if key == "user_id" else key.replace("_", " ")
        before, after = old.get(key), new.get(key)
        if key in old and key in new and before != after:
            parts.append(f"{name} {_value(before, users)} → {_value(after, users)}")
        elif key in new:
            if after not in ("", None, [], {}):
                parts.append(f"{name} {_value(after, users)}")
        else:
            parts.append(f"{name} was {_value(before, users)}")
    return ", ".join(parts)


def _usernames(store: Any, events: list[Any]) -> dict[str, str]:
    """User ids mentioned in events, by username (only looked up when there are any)."""
    if not any("user_id" in (e.old or {}) or "user_id" in (e.new or {}) for e in events):
        return {}
    try:
        return {str(user.id): user.username for user in store.list_users()}
    except Post001Error:  # a server that does not list its users: ids stay ids
        return {}


def _audit_lines(events: list[Any], users: dict[str, str]) -> None:
    if not events:
        click.echo("No audit events match.")
        return
    actor_width = max(len(e.actor or "-") for e in events)
    for e in events:
        where = "".join([f" post {short_id(e.post_id)}" if e.post_id else "",
                         f" in {e.collective}" if e.collective else ""])
        change = _change(e.old, e.new, users)
        click.echo(f"{when(e.at)}  {(e.actor or '-'):<{actor_width}}  {e.action}{where}"
                   + (f": {change}" if change else ""))


@click.command("audit", short_help="Who did what and when: the audit trail.")
@click.option("--post", "post_id", default=None, metavar="ID",
              help="Only events about this post (id or unique prefix).")
@click.option("--collective", default=None, metavar="SLUG",
              help="Only events in this collective.")
@click.option("--actor", default=None, metavar="USERNAME", help="Only events by this user.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="At most this many events, newest first.")
@global_options
@pass_state
def audit(
    state: State, post_id: str | None, collective: str | None, actor: str | None, limit: int
) -> None:
    """Show who did what, and when: the audit trail you are allowed to read.

    You see your own actions, events on your posts, and events in collectives you own
    or administer.
    """
    store = state.store()
    pid = resolve_post_id(state, post_id) if post_id else None
    events = store.audit(post_id=pid, collective=collective, actor=actor, limit=limit)
    emit(state.json, to_json(events),
         lambda: _audit_lines(events, _usernames(store, events)))


@click.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="At most this many posts.")
@global_options
@pass_state
def search(state: State, query: str, limit: int) -> None:
    """Full-text search over the published posts you may read.

    \b
    Example:
      post001 search "sourdough starter"
    """
    posts = state.store().search(query, limit=limit)
    emit(state.json, to_json(posts),
         lambda: posts_table(posts, empty=f"No published post matches {query!r}."))


@click.group("scheduler")
def scheduler_group() -> None:
    """Publish scheduled posts whose time has come.

    Run `post001 scheduler run-once` from cron (or a systemd timer) every minute.
    """


@scheduler_group.command("run-once", short_help="Publish every due scheduled post, then exit.")
@global_options
@pass_state
def scheduler_run_once(state: State) -> None:
    """Publish every scheduled post that is due (any author), then exit."""
    store = state.store()
    published = store.publish_due()
    posts: list[dict[str, Any]] = []
    for pid in published:
        try:
            post = store.get_post(pid)
        except Post001Error:  # another author's private post: the id is enough
            posts.append({"id": str(pid)})
        else:
            posts.append({"id": str(pid), "title": post.title, "author": post.author,
                          "status": post.status.value,
                          "shares": to_json(post.shares)})

    def human() -> None:
        if not posts:
            click.echo("No scheduled post is due.")
            return
        click.echo(f"Published {len(posts)} scheduled post{'s' if len(posts) != 1 else ''}:")
        for item in posts:
            click.echo(f"  {short_id(item['id'])}  {clip(item.get('title', ''), 60)}")

    emit(state.json, {"published": posts}, human)
