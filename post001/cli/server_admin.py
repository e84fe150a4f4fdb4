"""The one seam between the CLI and the server package.

`post001 serve` and `post001 server ...` administer a team server; they need FastAPI,
uvicorn and the server's account tables, which a writer's CLI never loads. They live in
post001/server/cli.py and are mounted here by name, imported only when one of them runs
(and for its --help). Nothing else in post001/cli refers to post001.server; the
import-linter contracts in pyproject.toml and tests/test_layers.py hold both sides to it.
"""

from __future__ import annotations

#: The module that defines the administration commands.
SERVER_COMMANDS_MODULE = "post001.server.cli"

#: command name -> (attribute in that module, short help shown by `post001 --help`)
SERVER_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve_command", "Run the post001 team server."),
    "server": ("server_group", "Administer a server's users and API tokens."),
}


def lazy_commands() -> dict[str, tuple[str, str, str]]:
    """The table post001.cli.app.Post001Group.lazy_commands expects."""
    return {name: (SERVER_COMMANDS_MODULE, attribute, short_help)
            for name, (attribute, short_help) in SERVER_COMMANDS.items()}
