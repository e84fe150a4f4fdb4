"""Named servers, the way gh keeps its hosts.

config.toml may describe any number of servers:

    server_url = "work"              # the default store: a server name or a URL

    [servers.work]
    url = "https://post.example.org"
    user = "alice"                   # who signed in there (recorded by `post001 login`)
    token_file = "/home/alice/.config/post001/work.token"   # only where there is no keyring

Wherever post001 takes a server (`--server`, `POST001_SERVER_URL`, `server_url`,
`post001.connect(...)`) it accepts a name from this table or a URL. A URL that matches
a recorded server's `url` picks up that server's entry too, so `--server URL` finds the
token file `post001 login URL --token-file PATH` recorded.

The default server: `--server` wins, then `POST001_SERVER_URL`, then `server_url` in the
config file. `post001 login` sets `server_url` when none is set yet (or with
`--default`), so after the first sign-in every command goes to that server without a
flag; `--db` still selects a local database for one command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tomlkit.toml_document import TOMLDocument

from post001.core.config_file import as_plain, read_config, update_config
from post001.core.errors import ValidationError

SERVERS_TABLE = "servers"
DEFAULT_KEY = "server_url"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ServerEntry:
    """A server as the user knows it: its URL and, when recorded, its name, the user who
    signed in there and the token file that sign-in wrote."""

    url: str
    name: str | None = None
    user: str | None = None
    token_file: Path | None = None

    @property
    def label(self) -> str:
        """How to show it to a person: the name when it has one."""
        return self.name or self.url


def is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def normalize_url(url: str) -> str:
    """One spelling per server: `HTTP://Host:8000/` and `http://host:8000` are one."""
    url = url.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def name_for(url: str) -> str:
    """The name `post001 login` gives a server when the user does not choose one:
    its host, with the port when there is one (`post.example.org`, `127.0.0.1-8000`)."""
    parts = urlsplit(normalize_url(url))
    host = parts.hostname or "server"
    name = f"{host}-{parts.port}" if parts.port else host
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)[:64]


def _entry(name: str, raw: Any, path: Path | None) -> ServerEntry | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        return None
    token_file = raw.get("token_file")
    user = raw.get("user")
    return ServerEntry(
        url=normalize_url(raw["url"]),
        name=name,
        user=user if isinstance(user, str) and user else None,
        token_file=Path(token_file).expanduser() if isinstance(token_file, str) and token_file
        else None,
    )


def configured(path: Path | None = None) -> dict[str, ServerEntry]:
    """Every server in config.toml's [servers] table, by name."""
    table = as_plain(read_config(path)).get(SERVERS_TABLE)
    if not isinstance(table, dict):
        return {}
    entries = {name: _entry(name, raw, path) for name, raw in table.items()}
    return {name: entry for name, entry in entries.items() if entry is not None}


def lookup(name_or_url: str, path: Path | None = None) -> ServerEntry | None:
    """The server a name or URL stands for; None when `name_or_url` is neither a URL
    nor a configured name (then it is probably a database URL)."""
    text = name_or_url.strip()
    servers = configured(path)
    if is_url(text):
        url = normalize_url(text)
        for entry in servers.values():
            if entry.url == url:
                return entry
        return ServerEntry(url=url)
    return servers.get(text)


def find(name_or_url: str, path: Path | None = None) -> ServerEntry:
    """Like `lookup`, but an unknown name is an error that lists the known ones."""
    entry = lookup(name_or_url, path)
    if entry is not None:
        return entry
    known = sorted(configured(path))
    listed = f" Known servers: {', '.join(known)}." if known else ""
    raise ValidationError(
        f"server: {name_or_url!r} is neither an http(s):// URL nor a server named in the "
        f"config file.{listed}",
        field="server",
        actions=["Pass the server's URL, or sign in once with `post001 login URL --name "
                 f"{name_or_url}`."],
    )


def default_server() -> ServerEntry | None:
    """The server commands use without --server (POST001_SERVER_URL, else server_url in
    config.toml), or None when the default store is a local database."""
    from post001.core.config import Settings

    value = Settings().server_url
    return find(value) if value else None


def record(
    url: str,
    *,
    name: str | None = None,
    user: str | None = None,
    token_file: Path | None = None,
    make_default: bool | None = None,
    path: Path | None = None,
) -> tuple[ServerEntry, bool]:
    """Remember a server after a sign-in. Returns (its entry, whether it became the
    default). `token_file` None removes a token file recorded earlier (the token now
    lives in the keyring). `make_default` None: only when no default is set."""
    url = normalize_url(url)
    existing = next((e for e in configured(path).values() if e.url == url), None)
    chosen = name or (existing.name if existing else None) or name_for(url)
    if not NAME_RE.match(chosen):
        raise ValidationError(
            f"name: {chosen!r} is not a server name (letters, digits, '.', '_' and '-', "
            "at most 64).", field="name")
    became_default = False

    def change(doc: TOMLDocument) -> None:
        nonlocal became_default
        import tomlkit

        servers = doc.get(SERVERS_TABLE)
        if servers is None:
            servers = tomlkit.table(is_super_table=True)
            doc[SERVERS_TABLE] = servers
        old_name = existing.name if existing is not None else None
        if old_name is not None and old_name != chosen and old_name in servers:
            del servers[old_name]  # renamed: one entry per URL
        section = servers.get(chosen)
        if section is None:
            section = tomlkit.table()
            servers[chosen] = section
        section["url"] = url
        if user:
            section["user"] = user
        if token_file is not None:
            section["token_file"] = str(token_file)
        elif "token_file" in section:
            del section["token_file"]
        current = doc.get(DEFAULT_KEY)
        if make_default or (make_default is None and not current):
            if current != chosen:
                doc[DEFAULT_KEY] = chosen
            became_default = True

    update_config(change, path)
    return ServerEntry(url=url, name=chosen, user=user, token_file=token_file), became_default


def forget_token_file(url: str, path: Path | None = None) -> Path | None:
    """After a sign-out: drop the recorded token file from the server's entry (the
    entry itself stays, so `--server NAME` keeps working). Returns the file it named."""
    entry = lookup(url, path)
    if entry is None or entry.name is None or entry.token_file is None:
        return None

    def change(doc: TOMLDocument) -> None:
        section = doc.get(SERVERS_TABLE, {}).get(entry.name)
        if section is not None and "token_file" in section:
            del section["token_file"]

    update_config(change, path)
    return entry.token_file
