"""The `post001` command: with no arguments it opens the TUI; otherwise a scriptable CLI.

Run it as `post001 ...` or `python -m post001.cli.main ...`.
"""

from __future__ import annotations

import click

from post001 import __version__
from post001.cli import commands, server_admin
from post001.cli.app import (
    Post001CliError,
    Post001Group,
    State,
    global_options,
    pass_state,
    root_options,
)

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    "post001",
    cls=Post001Group,
    invoke_without_command=True,
    context_settings=CONTEXT_SETTINGS,
    epilog="Run `post001 COMMAND --help` for a command's options and examples.",
)
@root_options
@click.version_option(__version__, prog_name="post001")
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


# Every command but `demo` is mounted by name and imported when it runs, so a command
# pays only for its own imports (`--version` and `--help` load no models, no SQLAlchemy).
# The team server's administration commands load FastAPI and SQLAlchemy: they come
# through the CLI's one seam to the server package (post001/cli/server_admin.py).
Post001Group.lazy_commands = {**commands.WRITER_COMMANDS, **server_admin.lazy_commands()}


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
