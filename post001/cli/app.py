"""The click group, its global options, and how errors reach the terminal.

Every command gets a `State` (global options, a lazily opened store) through
`pass_state`. Errors never show a traceback: a post001 error prints its message and
suggested actions (or `{"error": {...}}` on stderr with --json) and exits 1; bad usage
exits 2, as click does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import click

from post001.cli.output import dumps, redact_url, short_id

if TYPE_CHECKING:
    from post001.core.config import Settings
    from post001.core.errors import Post001Error
    from post001.core.store import Store

F = TypeVar("F", bound=Callable[..., Any])

DEBUG_ENV = "POST001_DEBUG"
FIX_AND_RETRY = "Correct the value and run the command again."


class State:
    """Global options and the store, opened on first use and closed on exit."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.server: str | None = None
        self.token_file: str | None = None
        self.user: str | None = None
        self.json = False
        #: The command being run, without "post001" (e.g. "post edit"): picks its hints.
        self.command = ""
        self._settings: Settings | None = None
        self._store: Store | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from pydantic import ValidationError as PydanticError

            from post001.core.config import Settings, config_path
            from post001.core.errors import ValidationError
            from post001.core.validation import describe

            try:
                self._settings = Settings()
            except PydanticError as exc:
                name, problem = describe(exc.errors()[0])
                raise ValidationError(
                    f"The setting {problem} (from POST001_{name.upper()} or "
                    f"{config_path()}).",
                    field=name,
                    actions=[f"Fix the setting in {config_path()} or the environment."],
                ) from None
            except ValueError as exc:  # a TOML syntax error
                raise ValidationError(
                    f"Cannot read the config file {config_path()}: {exc}",
                    field="config",
                    actions=[f"Fix or remove {config_path()}."],
                ) from None
        return self._settings

    def url(self) -> str:
        """The store: --server, else --db, else POST001_SERVER_URL / POST001_DATABASE_URL
        (or the config file), else the embedded default."""
        return self.server or self.db or self.settings().store_url()

    def local_store(self) -> tuple[str, str] | None:
        """The store URL and acting user as `url()` and `username()` give them, read
        without the settings machinery (post001.core.locations.peek_store_settings);
        None when only `Settings` can tell (the caller then takes the full path)."""
        from post001.core.locations import (
            choose_store_url,
            default_username,
            peek_store_settings,
        )

        found = peek_store_settings()
        if found is None:
            return None
        url = self.server or self.db or choose_store_url(found["server_url"],
                                                         found["database_url"])
        return url, self.user or found["user"] or default_username()

    def username(self) -> str:
        from post001.core.api import default_username

        return self.user or self.settings().user or default_username()

    def requested_user(self) -> str | None:
        """The user asked for explicitly (--as, else POST001_USER). Against a server the
        token decides who you are; this must then agree with it."""
        return self.user or os.environ.get("POST001_USER") or None

    def is_server(self) -> bool:
        from post001.core.api import is_server

        return is_server(self.url())

    def store(self, *, offline: bool = False, **options: Any) -> Store:
        if self._store is None:
            from post001.core.api import connect

            url = self.url()
            try:
                remote = self.is_server()
                user = self.requested_user() if remote else self.username()
                self._store = connect(url, user, settings=self.settings(),
                                      token_file=self.token_file,
                                      offline=offline, **options)
            except Exception as exc:
                raise as_post001_error(exc, url=url) from None
            click.get_current_context().find_root().call_on_close(self.close)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            store, self._store = self._store, None
            store.close()


pass_state = click.make_pass_decorator(State, ensure=True)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    state = ctx.ensure_object(State)
    # Every command has this option, so the innermost command's path is the last set.
    state.command = " ".join(ctx.command_path.split()[1:])
    if value:
        state.json = True


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).db = value


def _set_user(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).user = value


def _set_server(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).server = value


def _set_token_file(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).token_file = value


DB_HELP = (
    "The database (sqlite:///path.db or postgresql://user@host/name). Default: "
    "POST001_DATABASE_URL, else a SQLite file in your data directory (see `post001 locate`)."
)
AS_HELP = (
    "Act as this user. Default: POST001_USER, else your operating-system user (a local "
    "profile is created on first use)."
)
JSON_HELP = "Print JSON on stdout (errors as JSON on stderr)."
SERVER_HELP = (
    "A post001 server (http(s)://host:port, or a name from [servers] in the config file) "
    "instead of a database. Default: POST001_SERVER_URL, else server_url in the config "
    "file (`post001 login` sets it on first sign-in)."
)
TOKEN_FILE_HELP = (
    "Read the server token from this file (it must be private: chmod 600); with `login`, "
    "keep the token there. Default: POST001_TOKEN, else the OS keyring, else the file "
    "`post001 login --token-file` recorded."
)


def global_options(func: F) -> F:
    """--db, --server, --token-file, --as and --json on every command too, so they work
    after its name."""
    return _global_options(func, db_help="The database URL (see `post001 --help`).",
                           as_help="Act as this user.")


def root_options(func: F) -> F:
    return _global_options(func, db_help=DB_HELP, as_help=AS_HELP)


def json_option(func: F) -> F:
    """--json alone (the server's administration commands take no --server or --as)."""
    return click.option("--json", "json_output", is_flag=True, expose_value=False,
                        is_eager=True, callback=_set_json, help=JSON_HELP)(func)


def db_option(help: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option("--db", "db", default=None, metavar="URL", expose_value=False,
                            callback=_set_db, help=help)(func)
    return decorate


def _global_options(func: F, *, db_help: str, as_help: str) -> F:
    func = json_option(func)
    func = click.option("--as", "as_user", default=None, metavar="USERNAME",
                        expose_value=False, callback=_set_user, help=as_help)(func)
    func = click.option("--token-file", "token_file", default=None, metavar="PATH",
                        expose_value=False, callback=_set_token_file,
                        help=TOKEN_FILE_HELP)(func)
    func = click.option("--server", "server", default=None, metavar="URL|NAME",
                        expose_value=False, callback=_set_server, help=SERVER_HELP)(func)
    return db_option(db_help)(func)


def read_password(prompt: bool, confirm: bool) -> str:
    """From a hidden prompt on a terminal, else the first line of stdin."""
    import sys

    if prompt and sys.stdin.isatty():
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
        return value
    line = sys.stdin.readline()
    if not line:
        raise click.UsageError("No password on stdin.")
    return line.rstrip("\r\n")


# --- errors -----------------------------------------------------------------------------


class Post001CliError(click.ClickException):
    """A post001 error on its way out: exit code 1, printed the way the user asked."""

    exit_code = 1

    def __init__(self, error: Post001Error, *, json_mode: bool, command: str = "") -> None:
        super().__init__(error.message)
        from post001.cli.hints import hints_for

        self.error = error
        self.json_mode = json_mode
        error.actions = hints_for(error, command)
        from post001.core.session import IdentityMismatch

        if isinstance(error, IdentityMismatch):
            # Acting as someone the token is not is bad usage, like a wrong option.
            self.exit_code = 2  # type: ignore[misc]  # click declares it per class

    def show(self, file: Any = None) -> None:
        if self.json_mode:
            click.echo(dumps({"error": self.error.to_dict()}), err=True)
            return
        err = self.error
        about = ""
        if err.collective:
            about = f" [collective: {err.collective}]"
        elif err.field:
            about = f" [field: {err.field}]"
        click.echo(f"Error ({err.category}){about}: {err.message}", err=True)
        for action in err.actions:
            click.echo(f"  hint: {action}", err=True)


class JsonUsageError(click.UsageError):
    """Bad usage (exit 2), reported as JSON because the user asked for --json."""

    def show(self, file: Any = None) -> None:
        body: dict[str, Any] = {"category": "usage", "message": self.format_message()}
        if self.ctx is not None:
            body["usage"] = self.ctx.get_usage()
        click.echo(dumps({"error": body}), err=True)


def as_post001_error(exc: BaseException, *, url: str | None = None) -> Post001Error:
    """Any failure as a post001 error a user can read (never a traceback)."""
    from post001.core.errors import DatabaseError, Post001Error

    if isinstance(exc, Post001Error):
        return exc
    if type(exc).__module__.startswith("pydantic"):
        from post001.core.validation import as_post001_error as translate

        return translate(exc)
    where = f" at {redact_url(url)}" if url else ""
    module = type(exc).__module__ or ""
    if module.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return DatabaseError(
            f"Cannot use the database{where}: {detail}",
            actions=[
                "Check the URL given with --db or POST001_DATABASE_URL, and that the "
                "database server is running.",
                "Run `post001 db upgrade` if the database has not been set up yet.",
            ],
        )
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("post001"):
        return DatabaseError(
            f"This installation of post001 cannot open{where or ' this store'}: "
            f"{exc.name} is missing.",
            actions=["Use a sqlite:/// or postgresql:// URL, or upgrade post001."],
        )
    if isinstance(exc, OSError):
        return DatabaseError(f"Cannot open the store{where}: {exc}")
    return Post001Error(
        f"Unexpected error: {type(exc).__name__}: {exc}",
        actions=[f"Run again with {DEBUG_ENV}=1 to see the traceback, and please report it."],
    )


class Post001Group(click.Group):
    """The root group: turns every failure under it into a clean message and exit code.

    `lazy_commands` are mounted by name and imported only when run, so that commands
    with heavy dependencies (the server's) cost nothing at start-up or in --help.
    """

    #: name -> (module, attribute, short help)
    lazy_commands: dict[str, tuple[str, str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            import importlib

            module, attribute, _ = self.lazy_commands[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        rows = []
        for name in names:
            if name in self.commands:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, self.lazy_commands[name][2]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        wants_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            if wants_json and not isinstance(exc, JsonUsageError):
                raise JsonUsageError(exc.format_message(), exc.ctx) from None
            raise
        state = ctx.ensure_object(State)
        state.json = state.json or wants_json
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        state = ctx.ensure_object(State)
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if state.json and not isinstance(exc, JsonUsageError):
                raise JsonUsageError(exc.format_message(), exc.ctx) from None
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) and not _is_post001_error(exc):
                raise
            url = state.db or (state._settings.store_url() if state._settings else None)
            raise Post001CliError(as_post001_error(exc, url=url), json_mode=state.json,
                                  command=state.command) from None


def _is_post001_error(exc: BaseException) -> bool:
    from post001.core.errors import Post001Error

    return isinstance(exc, Post001Error)


# --- post ids -----------------------------------------------------------------------------

_PREFIX = re.compile(r"^[0-9a-f-]{4,36}$")


def resolve_post_id(state: State, text: str, *, also: Iterable[UUID] | None = None) -> UUID:
    """A full post id, or a unique prefix (4+ hex digits) of a post the user may act on:
    their own posts and the posts waiting for their review.

    `also` replaces the review queue with the ids a command acts on (e.g. the posts
    pending in the collective named by `review approve --in SLUG`).
    """
    from post001.core.errors import NotFoundError, ValidationError

    wanted = text.strip().lower()
    if len(wanted.replace("-", "")) == 32:
        try:
            return UUID(wanted)
        except ValueError:
            pass
    if not _PREFIX.match(wanted) or len(wanted.replace("-", "")) < 4:
        raise ValidationError(
            f"{text!r} is not a post id: give the whole id or at least its first 4 hex "
            "digits.",
            field="post_id",
            actions=["List your posts and their ids with `post001 post list`."],
        )
    store = state.store()
    others = also if also is not None else (item.post_id for item in store.pending_reviews())
    candidates = {summary.id for summary in store.list_posts()} | set(others)
    matches = sorted(
        (c for c in candidates if str(c).startswith(wanted) or c.hex.startswith(wanted)),
        key=str,
    )
    if not matches:
        raise NotFoundError(
            f"None of your posts, nor any waiting for your review, has an id starting "
            f"with {text!r}.",
            field="post_id",
            actions=["`post001 post list` shows your posts, `post001 review list` the "
                     "posts waiting for your review."],
        )
    if len(matches) > 1:
        shown = ", ".join(short_id(m) for m in matches[:5])
        raise ValidationError(
            f"{text!r} matches {len(matches)} posts ({shown}); type more of the id.",
            field="post_id",
            actions=[FIX_AND_RETRY],
        )
    return matches[0]
