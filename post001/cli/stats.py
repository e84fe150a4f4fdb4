"""`post001 stats`: adoption figures from the audit trail (see post001/core/stats.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from post001.cli.app import State, global_options, pass_state
from post001.cli.output import emit, table

DEFAULT_DAYS = 30


def parse_since(text: str | None, now: datetime) -> datetime:
    """YYYY-MM-DD (UTC midnight) or an ISO date-time; default: 30 days ago."""
    from post001.core.errors import ValidationError

    if text is None:
        start = now - timedelta(days=DEFAULT_DAYS - 1)
        return start.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"since: {text!r} is not a date; use YYYY-MM-DD (UTC) or an ISO date-time.",
            field="since", actions=["For example: --since 2026-01-05"]) from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    if value > now:
        raise ValidationError(f"since: {text} is in the future (now is "
                              f"{now:%Y-%m-%d %H:%M} UTC).", field="since",
                              actions=["Give a day in the past, e.g. --since 2026-01-05."])
    if now - value > timedelta(days=3660):
        raise ValidationError(f"since: {text} is more than ten years ago; the limit is "
                              "3,660 days.", field="since",
                              actions=["Give a later day."])
    return value


@click.command("stats", short_help="Adoption figures: multi-collective posts, auto-save, ...")
@click.option("--since", default=None, metavar="DATE",
              help=f"Start of the window (YYYY-MM-DD, UTC; default: {DEFAULT_DAYS} days ago).")
@global_options
@pass_state
def stats_command(state: State, since: str | None) -> None:
    """Adoption figures from the audit trail, for the operator: posts shared to several
    collectives per day, collectives per post, time from creation to publish, the
    auto-save success rate and validation refusals.

    Reads the database directly (every writer's events), as its owner.

    \b
    Examples:
      post001 stats
      post001 --db postgresql://me@localhost/post001 stats --since 2026-01-05 --json
    """
    from post001.cli.db import existing_database
    from post001.core.errors import ValidationError
    from post001.core.sql.schema import HEAD_REVISION, current_revision
    from post001.core.stats import adoption

    now = datetime.now(UTC)
    start = parse_since(since, now)
    with existing_database(state) as engine:
        revision = current_revision(engine)
        if revision != HEAD_REVISION:
            raise ValidationError(
                f"The database is at schema revision {revision or 'none'}; stats need "
                f"{HEAD_REVISION}.", field="db", actions=["Run `post001 db upgrade`."])
        with engine.connect() as conn:
            data = adoption(conn, start, now)

    def human() -> None:
        click.echo(f"From {start:%Y-%m-%d %H:%M} to {now:%Y-%m-%d %H:%M} UTC: "
                   f"{data['published_posts']} publishes, {data['multi_collective_posts']} "
                   "to two or more collectives.")
        cpp = data["collectives_per_post"]
        if cpp["average"] is not None:
            spread = ", ".join(f"{k}: {v}" for k, v in cpp["distribution"].items())
            click.echo(f"Collectives per post: {cpp['average']} on average ({spread}).")
        wait = data["creation_to_publish_hours"]
        if wait["posts"]:
            click.echo(f"Creation to publish: median {wait['median']} h, p90 {wait['p90']} h "
                       f"({wait['posts']} posts).")
        auto = data["autosave"]
        rate = (f"{auto['success_rate_percent']} %" if auto["success_rate_percent"] is not None
                else "no saves yet")
        click.echo(f"Auto-save success: {rate} ({auto['saves']:,} saved, "
                   f"{auto['conflicts']:,} conflicts, {auto['refused']:,} refused).")
        ref = data["validation_refusals"]
        click.echo(f"Validation refusals: {ref['saves']} saves, {ref['publishes']} publishes, "
                   f"{ref['scheduled_publishes']} scheduled publishes.")
        if data["top_collectives"]:
            click.echo("Top collectives: " + ", ".join(
                f"{c['collective']} ({c['published_shares']})" for c in data["top_collectives"]))
        days = [d for d in data["per_day"] if d["published"]]
        if days:
            click.echo("")
            table(["day", "published", "2+ collectives", "%"],
                  ([d["day"], d["published"], d["multi_collective"],
                    d["multi_collective_percent"]] for d in days), empty="")

    emit(state.json, data, human)
