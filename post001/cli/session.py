"""Team-server sessions: `login`, `logout`, `whoami`, `status` and `sync`.

Thin wrappers around post001.core.session (sign-in, sign-out, who am I) and the
offline journal (post001.core.offline), so the CLI and the terminal app behave alike.
Every command takes the global options; a SERVER argument (a URL or a name from
config.toml's [servers]) is the same as --server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import click

from post001.cli.app import State, global_options, pass_state, read_password
from post001.cli.output import emit, short_id

if TYPE_CHECKING:
    from post001.core.offline import OfflineStore
    from post001.core.servers import ServerEntry
    from post001.core.sync import SyncReport

SERVER_ARG = click.argument("server_arg", metavar="[SERVER]", required=False)


def _server(state: State, server_arg: str | None) -> ServerEntry:
    from post001.core.session import resolve_server

    if server_arg:
        state.server = server_arg
    return resolve_server(state.server)


def _where(entry: ServerEntry) -> str:
    return f"{entry.name} ({entry.url})" if entry.name else entry.url


@click.command("login")
@SERVER_ARG
@click.option("--username", default=None, help="Default: the user recorded for this "
              "server, else your operating-system user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--name", default=None, help="Name the server in the config file (default: "
              "its host), to use it as --server NAME.")
@click.option("--default", "make_default", is_flag=True, default=None,
              help="Make this the default server even when another one is.")
@global_options
@pass_state
def login_command(state: State, server_arg: str | None, username: str | None,
                  password_stdin: bool, name: str | None, make_default: bool | None) -> None:
    """Sign in to a post001 server and keep the token.

    The token goes to the OS keyring; with --token-file PATH (a machine without a
    keyring) to that file, created private (0600). The server is recorded in the config
    file, and becomes the default when none is set, so later commands need neither
    --server nor --token-file.

    \b
    Examples:
      post001 login https://post.example.org --username alice
      post001 login https://post.example.org --name work --token-file ~/.post001-work
    """
    from post001.core import credentials
    from post001.core.api import default_username
    from post001.core.session import sign_in

    entry = _server(state, server_arg)
    if state.token_file is None:
        problem = credentials.keyring_problem()
        if problem is not None:  # say so before asking for a password
            raise credentials.KeyringUnavailable(problem)
    username = username or state.requested_user() or entry.user or default_username()
    password = read_password(not password_stdin, confirm=False)
    result = sign_in(entry.url, username, password, token_file=state.token_file,
                     name=name or entry.name, make_default=make_default or None)

    def human() -> None:
        where = (f"{result.token_file} (0600)" if result.token_file
                 else "the OS keyring")
        click.echo(f"Signed in to {_where(result.server)} as {username}; the token is in "
                   f"{where}.")
        if result.default:
            click.echo(f"{result.server.name} is your default server: commands without "
                       "--server or --db use it.")
        else:
            click.echo(f"Use it with --server {result.server.name}.")

    emit(state.json, result.to_dict(), human)


@click.command("logout")
@SERVER_ARG
@global_options
@pass_state
def logout_command(state: State, server_arg: str | None) -> None:
    """Revoke this machine's token for the server and forget it.

    Changes kept on this machine for you (written while offline) stay, and are sent
    when you sign in to the same server again.
    """
    from post001.core.session import sign_out

    entry = _server(state, server_arg)
    result = sign_out(entry.url, token_file=state.token_file)

    def human() -> None:
        if result.note:
            click.echo(f"note: {result.note}.", err=True)
        if result.forgotten or result.revoked:
            click.echo(f"Signed out of {_where(result.server)}.")
        else:
            click.echo(f"Not signed in to {_where(result.server)}.")
        if result.pending:
            click.echo(f"{result.pending} change(s) by {result.username} stay on this "
                       "machine; they are sent when you sign in there again.")

    emit(state.json, result.to_dict(), human)


@click.command("whoami")
@SERVER_ARG
@global_options
@pass_state
def whoami_command(state: State, server_arg: str | None) -> None:
    """Show who you are signed in as on the server (asks the server)."""
    from post001.core.session import IdentityMismatch

    status = _check(state, server_arg)
    assert status.user is not None
    requested = state.requested_user()
    if requested and requested != status.user.username:
        raise IdentityMismatch(requested, status.user.username, status.server.url)
    emit(state.json, {**status.to_dict(), **status.user.model_dump(mode="json")},
         lambda: click.echo(f"{status.user.username} on {_where(status.server)}"
                            if status.user else ""))


def _check(state: State, server_arg: str | None) -> Any:
    from post001.core.errors import NetworkError, PermissionDenied
    from post001.core.session import check_sign_in

    entry = _server(state, server_arg)
    status = check_sign_in(entry.url, token_file=state.token_file)
    if status.state == "no_token":
        from post001.core.credentials import missing_token_error

        raise missing_token_error(entry)
    if status.state == "rejected":
        raise PermissionDenied(f"{entry.label}: {status.message}",
                               actions=[f"Run `post001 login {entry.url}`"])
    if status.state == "unreachable":
        raise NetworkError(status.message)
    return status


@click.command("status")
@SERVER_ARG
@global_options
@pass_state
def status_command(state: State, server_arg: str | None) -> None:
    """Show the server, who you are there, and the changes waiting on this machine."""
    from post001.core import journal
    from post001.core.session import check_sign_in

    if not server_arg and not state.server and not state.is_server():
        url = state.url()
        data: dict[str, Any] = {"server": None, "store": url}
        emit(state.json, data, lambda: click.echo(
            f"store     {url} (local; no team server: sign in with `post001 login URL`)"))
        return
    entry = _server(state, server_arg)
    signed = check_sign_in(entry.url, token_file=state.token_file, timeout=3.0)
    username = signed.user.username if signed.user else entry.user
    if signed.user is None and signed.state != "no_token":
        from post001.core.credentials import find_token

        found = find_token(entry, token_file=state.token_file)
        if found is not None:
            username = journal.known_identity(None, entry.url, found.token) or username
    pending, stuck = journal.pending_count(entry.url, username) if username else (0, 0)
    others = {u: n for u, n in journal.pending_by_user(entry.url).items() if u != username}
    from post001.core.sync import SyncStatus

    summary = SyncStatus(server=entry.url, username=username,
                         online=None if signed.state == "no_token"
                         else signed.state != "unreachable",
                         pending=pending, stuck=stuck)
    data = {**summary.to_dict(), "name": entry.name, "sign_in": signed.state,
            "token_source": signed.token_source, "message": signed.message,
            "others_pending": others}

    def human() -> None:
        click.echo(f"server    {_where(entry)}")
        who = username or "-"
        how = f", token {signed.token_source}" if signed.token_source else ""
        words = {"signed_in": "signed in", "no_token": "not signed in",
                 "rejected": "token refused by the server", "unreachable": "unreachable"}
        click.echo(f"user      {who}{how}")
        click.echo(f"state     {words[signed.state]}"
                   + (f": {signed.message}" if signed.state != "signed_in" else ""))
        click.echo(f"journal   {summary.describe() if pending else 'no changes waiting'}")
        for user, count in others.items():
            click.echo(f"          {count} change(s) by {user} (sent when {user} signs in)")

    emit(state.json, data, human)


@click.command("sync")
@SERVER_ARG
@click.option("--resolve", "resolutions", multiple=True, metavar="POST=CHOICE",
              help="Settle a post whose changes stopped: mine (send yours over the "
                   "server's), theirs (drop yours) or copy (yours become a new draft). "
                   "POST is an id or its first 4+ hex digits. Repeatable.")
@global_options
@pass_state
def sync_command(state: State, server_arg: str | None, resolutions: tuple[str, ...]) -> None:
    """Send the changes kept on this machine to the server now.

    Exits 0 when nothing is left waiting; 1 when changes stay (the server cannot be
    reached, or a post needs your decision: see --resolve). The report goes to stdout
    either way (--json for scripts).
    """
    from post001.core.errors import NetworkError, ValidationError
    from post001.core.offline import OfflineStore

    entry = _server(state, server_arg)
    state.server = entry.url if not entry.name else entry.name
    store = state.store(offline=True, replay_every=None)
    assert isinstance(store, OfflineStore)
    for item in resolutions:
        text, sep, choice = item.partition("=")
        if not sep or choice not in ("mine", "theirs", "copy"):
            raise ValidationError(f"--resolve {item!r}: write POST=mine, POST=theirs or "
                                  "POST=copy.", field="resolve")
        store.resolve(_journal_post(store, text), choice)  # type: ignore[arg-type]
    report = store.sync()
    emit(state.json, report.to_dict(), lambda: _show_report(report, entry))
    if report.remaining:
        why = report.error or ("a post needs your decision" if report.stuck
                               else "another process is sending them" if report.busy
                               else "they wait for the server")
        raise NetworkError(f"{report.remaining} change(s) stay on this machine: {why}.",
                           actions=["Run `post001 sync` again later (the app also sends "
                                    "them by itself)"] if not report.stuck else
                           ["Choose with `post001 sync --resolve POST=mine|theirs|copy`"])


def _journal_post(store: OfflineStore, text: str) -> UUID:
    from post001.core.errors import NotFoundError, ValidationError

    wanted = text.strip().lower()
    ids = sorted({e.post_id for e in store.journal().entries()}, key=str)
    matches = [i for i in ids if str(i).startswith(wanted) or i.hex.startswith(wanted)]
    if len(wanted.replace("-", "")) < 4:
        raise ValidationError(f"{text!r}: give at least 4 hex digits of the post id.",
                              field="resolve")
    if not matches:
        raise NotFoundError(f"No changes kept on this machine for a post {text!r}.",
                            field="resolve")
    if len(matches) > 1:
        raise ValidationError(f"{text!r} matches {len(matches)} posts; type more of the "
                              "id.", field="resolve")
    return matches[0]


def _show_report(report: SyncReport, entry: ServerEntry) -> None:
    if report.sent:
        extra = []
        if report.created:
            extra.append(f"{len(report.created)} new post(s) created")
        if report.published:
            extra.append(f"{len(report.published)} published")
        more = f" ({', '.join(extra)})" if extra else ""
        click.echo(f"Sent {report.sent} change(s) to {_where(entry)}{more}.")
    for conflict in report.conflicts:
        pid = short_id(conflict.post_id)
        click.echo(f"Conflict: post {pid} '{conflict.theirs.title or '(untitled)'}' was "
                   f"changed elsewhere (the server has version {conflict.theirs.version}; "
                   f"yours were based on {conflict.base_version}). Both texts are kept.")
        click.echo(f"  keep yours: post001 sync --resolve {pid}=mine   keep theirs: "
                   f"--resolve {pid}=theirs   keep both: --resolve {pid}=copy")
    for failed in report.failed:
        click.echo(f"Refused: post {short_id(failed.post_id)} ({failed.kind}): "
                   f"{failed.error.message}")
    for recreated in report.recreated:
        click.echo(f"Post {short_id(recreated.old_id)} is gone from the server; your text "
                   f"became the new draft {short_id(recreated.new_id)}.")
    if not report.remaining:
        click.echo("Nothing is waiting on this machine.")
    elif not (report.conflicts or report.failed):
        click.echo(f"{report.remaining} change(s) still on this machine.")
