"""`post001 flags` and `post001 rollout preview`: what is switched on, and for whom."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import click

from post001.cli.app import State, global_options, pass_state
from post001.cli.output import emit, table


def load_flags() -> tuple[Any, dict[str, str]]:
    """The flags in force here and where each comes from; a bad value is an error
    naming the variable (or config key), where it was set and the limit."""
    from pydantic import ValidationError as PydanticError

    from post001.core.config import FLAG_ENV, FLAGS_TABLE, FeatureFlags, config_path, flag_sources
    from post001.core.errors import ValidationError

    try:
        sources = flag_sources()
        flags = FeatureFlags()
    except PydanticError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "flags"
        source = flag_sources().get(name, "default")
        where = (f"the environment variable {FLAG_ENV.get(name, name)}" if source == "environment"
                 else f"{name} in [{FLAGS_TABLE}] of {config_path()}")
        raise ValidationError(
            f"The flag {name} is invalid: {first['msg']} (got {first.get('input')!r} from "
            f"{where}).", field=name,
            actions=["Booleans take true/false (or 1/0, on/off); rollout_percentage takes "
                     "a whole number from 0 to 100."]) from None
    except ValueError as exc:  # a TOML syntax error, or [flags] that is not a table
        raise ValidationError(f"Cannot read the config file {config_path()}: {exc}",
                              field="config", actions=[f"Fix or remove {config_path()}."]
                              ) from None
    return flags, sources


def _users(state: State) -> list[tuple[UUID, str]]:
    """Every user of the database (id, username): read directly, creating nothing."""
    import sqlalchemy as sa

    from post001.cli.db import existing_database
    from post001.core.sql import tables as t

    with existing_database(state) as engine, engine.connect() as conn:
        rows = conn.execute(sa.select(t.users.c.id, t.users.c.username)
                            .order_by(t.users.c.username)).all()
    return [(r.id, r.username) for r in rows]


@click.command("flags", short_help="Show the feature flags, where each is set, and the rollout.")
@click.option("--user", "username", default=None, metavar="NAME",
              help="Also say whether this user is inside the rollout.")
@global_options
@pass_state
def flags_command(state: State, username: str | None) -> None:
    """Show each feature flag's value and where it comes from: the environment (the
    unprefixed variable names), the [flags] table of config.toml, or the default. The
    environment wins over the config file, which wins over the default.

    A user is inside the rollout when their stable bucket (SHA-256 of their id, mod
    100) is below rollout_percentage: the same answer in every process.

    \b
    Examples:
      post001 flags
      ROLLOUT_PERCENTAGE=15 post001 flags --user alice --json
    """
    from post001.core.config import FLAG_ENV, FLAGS_TABLE, config_path, rollout_bucket
    from post001.core.errors import NotFoundError

    flags, sources = load_flags()
    values = flags.model_dump()
    data: dict[str, Any] = {
        "flags": {name: {"value": values[name], "source": sources[name],
                         "environment_variable": var}
                  for name, var in FLAG_ENV.items()},
        "rollout_percentage": flags.rollout_percentage,
        "config_file": str(config_path()),
    }
    if username is not None:
        found = {name: uid for uid, name in _users(state)}
        if username not in found:
            raise NotFoundError(f"There is no user named {username!r}.", field="user",
                                actions=["List the users with `post001 user list`."])
        uid = found[username]
        bucket = rollout_bucket(uid)
        data["user"] = {"username": username, "id": str(uid), "bucket": bucket,
                        "in_rollout": flags.in_rollout(uid),
                        "multi_collective": flags.multi_collective_for(uid)}

    def human() -> None:
        def shown(value: object) -> str:
            return ("on" if value else "off") if isinstance(value, bool) else str(value)

        table(["flag", "value", "source", "variable"],
              ([name, shown(item["value"]),
                item["source"] if item["source"] != "config"
                else f"config ([{FLAGS_TABLE}] in {data['config_file']})",
                item["environment_variable"]]
               for name, item in data["flags"].items()),
              empty="")
        user = data.get("user")
        if user:
            verdict = "inside" if user["in_rollout"] else "outside"
            flow = ("several collectives per post" if user["multi_collective"]
                    else "the legacy flow (one collective per post)")
            click.echo(f"\n{user['username']}: bucket {user['bucket']}, {verdict} the "
                       f"{flags.rollout_percentage} % rollout: {flow}.")

    emit(state.json, data, human)


@click.group("rollout", short_help="Plan a gradual rollout: who is in at a percentage.")
def rollout_group() -> None:
    """Plan a gradual rollout (e.g. 5, 15, 40, 100 %): who is in at a percentage."""


@rollout_group.command("preview", short_help="Who would be inside the rollout at N %.")
@click.option("--percentage", "percentage", required=True, type=click.IntRange(0, 100),
              help="The rollout percentage to preview (0-100).")
@global_options
@pass_state
def rollout_preview(state: State, percentage: int) -> None:
    """Show how many users would be inside the rollout at --percentage, and which,
    compared with the percentage in force now. Buckets are stable, so raising the
    percentage only ever adds users.

    \b
    Example:
      post001 rollout preview --percentage 15
    """
    from post001.core.config import rollout_bucket

    flags, _ = load_flags()
    users = [(name, rollout_bucket(uid)) for uid, name in _users(state)]
    now = flags.rollout_percentage
    inside = sorted((b, n) for n, b in users if b < percentage)
    joining = [n for b, n in inside if b >= now]
    leaving = sorted(n for n, b in users if percentage <= b < now)
    data = {
        "percentage": percentage,
        "current_percentage": now,
        "users": len(users),
        "inside": len(inside),
        "inside_now": sum(1 for _, b in users if b < now),
        "share_percent": round(100 * len(inside) / len(users), 1) if users else 0.0,
        "users_inside": [{"username": n, "bucket": b} for b, n in inside],
        "joining": joining,
        "leaving": leaving,
    }

    def human() -> None:
        click.echo(f"At {percentage} %: {data['inside']} of {data['users']} users "
                   f"({data['share_percent']} %) are inside the rollout "
                   f"(now, at {now} %: {data['inside_now']}).")
        if joining:
            click.echo(f"Joining ({len(joining)}): {', '.join(joining)}")
        if leaving:
            click.echo(f"Leaving ({len(leaving)}): {', '.join(leaving)}")
        if inside:
            click.echo(f"Inside: {', '.join(n for _, n in inside)}")

    emit(state.json, data, human)
