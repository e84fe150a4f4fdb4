"""The writer's commands, mounted by name and imported only when one of them runs.

`post001 --version` and `post001 --help` load none of these modules; `post001 post list`
loads post001/cli/posts.py alone (with the models and the store it needs), not the
collectives, review or database commands. Each module is named once here, with the short
help `post001 --help` shows; tests/test_cli_imports.py checks that every entry loads
and that its short help is the command's own.
"""

from __future__ import annotations

#: command name -> (module, attribute, short help shown by `post001 --help`)
WRITER_COMMANDS: dict[str, tuple[str, str, str]] = {
    "audit": ("post001.cli.activity", "audit", "Who did what and when: the audit trail."),
    "collective": ("post001.cli.collectives", "collective_group",
                   "Create collectives, find yours, manage members and settings."),
    "db": ("post001.cli.db", "db_group",
           "Create or upgrade the database schema (SQLite or PostgreSQL)."),
    "flags": ("post001.cli.rollout", "flags_command",
              "Show the feature flags, where each is set, and the rollout."),
    "locate": ("post001.cli.db", "locate", "Print where config, data and database live."),
    "login": ("post001.cli.session", "login_command",
              "Sign in to a post001 server and keep the token."),
    "logout": ("post001.cli.session", "logout_command",
               "Revoke this machine's token for the server and forget it."),
    "post": ("post001.cli.posts", "post_group",
             "Write posts, share them with collectives, publish them."),
    "review": ("post001.cli.review", "review_group",
               "Approve or reject posts waiting for review."),
    "rollout": ("post001.cli.rollout", "rollout_group",
                "Plan a gradual rollout: who is in at a percentage."),
    "scheduler": ("post001.cli.activity", "scheduler_group",
                  "Publish scheduled posts whose time has come."),
    "search": ("post001.cli.activity", "search",
               "Full-text search over the published posts you may read."),
    "stats": ("post001.cli.stats", "stats_command",
              "Adoption figures: multi-collective posts, auto-save, ..."),
    "status": ("post001.cli.session", "status_command",
               "Show the server, who you are there, and the changes waiting on this machine."),
    "sync": ("post001.cli.session", "sync_command",
             "Send the changes kept on this machine to the server now."),
    "user": ("post001.cli.users", "user_group",
             "Add and list users (the people who write, share and review)."),
    "whoami": ("post001.cli.session", "whoami_command",
               "Show who you are signed in as on the server (asks the server)."),
}
