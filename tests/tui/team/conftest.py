"""What the team-mode app tests share: a real uvicorn on PostgreSQL, tokens, and the app
built the way `post001 --server URL` builds it (the test keyring: tests/keyring_support.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from remote_support import ensure_user, live_server, make_test_app, sign_in

from post001.core.config import Settings
from post001.tui.app import Post001App, build_app
from post001.tui.team import TeamTarget


@pytest.fixture
def server(request: pytest.FixtureRequest, pg_url: str, clock: Any, admin: sa.Engine
           ) -> Iterator[str]:
    marker = request.node.get_closest_marker("server_settings")
    app = make_test_app(pg_url, clock, settings=Settings(**marker.kwargs) if marker else None)
    with live_server(app) as url:
        ensure_user(admin, "alice", clock)
        yield url
    app.state.ctx.close()


@pytest.fixture
def admin(pg_url: str) -> Iterator[sa.Engine]:
    from post001.core.sql.engine import make_engine

    engine = make_engine(pg_url, pool_size=1, max_overflow=2)
    yield engine
    engine.dispose()


def token_for(url: str) -> str:
    with httpx.Client(timeout=30) as client:
        return sign_in(client, url, "alice")


def host_port(url: str) -> str:
    return url.removeprefix("http://")


def team_app(url: str, settings: Settings | None = None, **target: Any) -> Post001App:
    return build_app(None, settings or Settings(), team=TeamTarget(url, **target))


def private_token_file(path: Path, token: str) -> Path:
    path.write_text(token)
    os.chmod(path, 0o600)
    return path


class Team:
    """The server behind a loopback fault proxy, alice's token in a private file, and the
    database seen from behind the API."""

    def __init__(self, url: str, proxy: Any, token: str, token_file: Path,
                 admin: sa.Engine) -> None:
        self.url = url
        self.proxy = proxy
        self.token = token
        self.token_file = token_file
        self.admin = admin

    def app(self, **settings: Any) -> Post001App:
        """The app as `post001 --server PROXY --token-file F` opens it."""
        return team_app(self.proxy.url, Settings(**{"autosave_delay": 0.3, **settings}),
                        token_file=str(self.token_file))

    def rows(self) -> list[Any]:
        with self.admin.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT id, title, content, version, status FROM posts ORDER BY created_at")))

    def row(self, post_id: Any) -> Any:
        return next((r for r in self.rows() if str(r.id) == str(post_id)), None)

    def direct(self) -> Any:
        """The writer's other device, talking to the server without the proxy."""
        from post001.core.remote import RemoteStore

        return RemoteStore(self.url, token=self.token, sleep=lambda _s: None)


@pytest.fixture
def team(server: str, admin: sa.Engine, tmp_path: Path) -> Iterator[Team]:
    from fault_proxy import fault_proxy

    token = token_for(server)
    with fault_proxy(server) as proxy:
        yield Team(server, proxy, token, private_token_file(tmp_path / "alice.token", token),
                   admin)
