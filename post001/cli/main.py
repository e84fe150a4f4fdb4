"""The `post001` command: with no arguments it opens the TUI; otherwise a scriptable CLI.

Run it as `post001 ...` or `python -m post001.cli.main ...`.
"""

from __future__ import annotations

import click

from post001.cli import server_admin
from post001.cli.activity import audit, scheduler_group, search
from post001.cli.app import (
    Post001CliError,
    Post001Group,
    State,
    global_options,
    pass_state,
    root_options,
)
from post001.cli.collectives import collective_group
from post001.cli.db import db_group, locate
from post001.cli.posts import post_group
from post001.cli.review import review_group
from post001.cli.rollout import flags_command, rollout_group
from post001.cli.session import (
    login_command,
    logout_command,
    status_command,
    sync_command,
    whoami_command,
)
from post001.cli.stats import stats_command
from post001.cli.users import user_group

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    "post001",
    cls=Post001Group,
    invoke_without_command=True,
    context_settings=CONTEXT_SETTINGS,
    epilog="Run `post001 COMMAND --help` for a command's options and examples.",
)
@root_options
@click.version_option(package_name="post001", prog_name="post001")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """post001: write one post, publish it to many collectives.

    With no command, opens the terminal app. Every command below takes --json for
    machine-readable output (and --db, --as, before or after its name) and exits 0
    on success, 1 on an error, 2 on bad usage.

    \b
    Getting started:
      post001 collective create weekend-bakers --name "Weekend Bakers"
      post001 post new --title "Hello" --file hello.md --to weekend-bakers
      post001 post list
      post001 post publish <id>
    """
    state = ctx.ensure_object(State)
    if ctx.invoked_subcommand is None:
        _launch_tui(state)


def _launch_tui(state: State) -> None:
    try:
        from post001.tui.app import run_app
    except ImportError as exc:
        _tui_missing(state, exc)
        return
    # Against a server the token decides who you are: only an explicit --as (or
    # POST001_USER) goes on, for the store to check against the token's user.
    # The token: core's one order (post001/core/credentials.py), --token-file first.
    server = state.is_server()
    user = state.requested_user() if server else state.username()
    run_app(store_url=state.url(), user=user, token_file=state.token_file, server=server)


def _tui_missing(state: State, exc: ImportError) -> None:
    from post001.core.errors import DatabaseError

    raise Post001CliError(
        DatabaseError(
            f"The terminal app is not available in this installation ({exc}).",
            actions=["Use the commands listed by `post001 --help`, or reinstall post001."],
        ),
        json_mode=state.json,
    )


@cli.command("demo", short_help="Try post001 on a demo database (opens the TUI).")
@global_options
@pass_state
def demo(state: State) -> None:
    """Open the terminal app on a demo database full of sample posts and collectives.

    It never touches your real database, so try anything.
    """
    try:
        from post001.tui.demo import run_demo
    except ImportError as exc:
        _tui_missing(state, exc)
        return
    run_demo()


# The team server's administration commands load FastAPI and SQLAlchemy: mounted by name
# through the CLI's one seam to the server package, imported only when used.
Post001Group.lazy_commands = server_admin.lazy_commands()

for command in (db_group, locate, user_group, collective_group, post_group, review_group,
                audit, search, scheduler_group, login_command, logout_command,
                whoami_command, status_command, sync_command, flags_command, rollout_group,
                stats_command):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """The console script: exits 0 on success, 1 on an error, 2 on bad usage."""
    from post001.core.logs import REQUEST_ID, configure_logging, new_request_id

    # The composition root: logging once (POST001_LOG_FORMAT / POST001_LOG_LEVEL), and
    # one request id for this invocation's log lines.
    configure_logging()
    REQUEST_ID.set(new_request_id())
    cli.main(args=argv, prog_name="post001")


if __name__ == "__main__":
    main()
