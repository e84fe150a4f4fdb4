"""The request path: one pooled connection and one transaction per request (the token
lookup, the role and the user, and the work), no pre-ping, a dead pooled connection
replaced on the spot, and a bounded pool that serves many more clients than it has
connections."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from remote_support import live_server, make_test_app
from sqlalchemy import event

pytestmark = pytest.mark.postgres


class Transactions:
    """What an engine did: pool checkouts, transactions begun, committed, rolled back,
    and the statements SQLAlchemy sent."""

    def __init__(self, engine: sa.Engine) -> None:
        self.counts: Counter[str] = Counter()
        self.statements: list[str] = []
        self.engine = engine
        self._hooks = {
            "checkout": lambda *_: self.counts.update(["checkout"]),
            "begin": lambda *_: self.counts.update(["begin"]),
            "commit": lambda *_: self.counts.update(["commit"]),
            "rollback": lambda *_: self.counts.update(["rollback"]),
            "before_cursor_execute": self._statement,
        }
        for name, hook in self._hooks.items():
            event.listen(engine, name, hook)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def reset(self) -> None:
        self.counts.clear()
        self.statements.clear()

    def close(self) -> None:
        for name, hook in self._hooks.items():
            event.remove(self.engine, name, hook)


@pytest.fixture
def watched(api: Any) -> Iterator[Transactions]:
    watch = Transactions(api.ctx.engine)
    yield watch
    watch.close()


def _draft(api: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = api.client.post("/api/v1/posts", json={"title": "T", "content": "c", **body},
                               headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_save_is_one_connection_and_one_transaction(api: Any, watched: Transactions
                                                      ) -> None:
    headers = api.headers("alice")
    post = _draft(api, headers)
    version = post["version"]
    for i in range(3):
        watched.reset()
        response = api.client.patch(f"/api/v1/posts/{post['id']}/draft",
                                    json={"content": f"text {i}"},
                                    headers={**headers, "If-Match": f'"{version}"'})
        assert response.status_code == 200, response.text
        version = response.json()["version"]
        assert watched.counts == {"checkout": 1, "begin": 1, "commit": 1}, watched.counts
        # The token lookup sets the role and the user in the same statement.
        first = watched.statements[0]
        assert "post001_token_lookup" in first and "set_config('role'" in first
        assert "set_config('post001.user_id'" in first
        assert not any(s.strip().upper() == "SELECT 1" for s in watched.statements)


def test_the_hundredth_save_prunes_history_in_the_same_transaction(
        api: Any, watched: Transactions) -> None:
    """Pruning once ran in a second transaction after the save had committed: with no
    free connection it failed, and a stored save was answered 503."""
    headers = api.headers("alice")
    post = _draft(api, headers)
    with api.admin.begin() as conn:
        conn.execute(sa.text("UPDATE posts SET version = 99 WHERE id = :id"),
                     {"id": post["id"]})
    watched.reset()
    response = api.client.patch(f"/api/v1/posts/{post['id']}/draft", json={"content": "x"},
                                headers={**headers, "If-Match": '"99"'})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 100
    assert watched.counts == {"checkout": 1, "begin": 1, "commit": 1}, watched.counts
    assert any("FROM post_revisions" in s for s in watched.statements), watched.statements


def test_get_and_publish_are_one_transaction_each(api: Any, watched: Transactions) -> None:
    headers = api.headers("alice")
    assert api.client.post("/api/v1/collectives", json={"slug": "one", "name": "One"},
                           headers=headers).status_code == 201
    post = _draft(api, headers, collectives=["one"])
    watched.reset()
    assert api.client.get(f"/api/v1/posts/{post['id']}", headers=headers).status_code == 200
    assert watched.counts == {"checkout": 1, "begin": 1, "commit": 1}, watched.counts
    watched.reset()
    response = api.client.post(f"/api/v1/posts/{post['id']}/publish",
                               headers={**headers, "Idempotency-Key": "k1"})
    assert response.status_code == 200, response.text
    assert watched.counts == {"checkout": 1, "begin": 1, "commit": 1}, watched.counts


def test_a_refused_request_rolls_its_transaction_back(api: Any, watched: Transactions
                                                      ) -> None:
    headers = api.headers("alice")
    post = _draft(api, headers)
    watched.reset()
    response = api.client.patch(f"/api/v1/posts/{post['id']}",
                                json={"title": "stale"},
                                headers={**headers, "If-Match": '"999"'})
    assert response.status_code == 412
    assert watched.counts["rollback"] >= 1
    after = api.client.get(f"/api/v1/posts/{post['id']}", headers=headers).json()
    assert after["title"] == "T" and after["version"] == post["version"]


def test_a_bad_token_touches_nothing_else(api: Any, watched: Transactions) -> None:
    response = api.client.get("/api/v1/me", headers={"Authorization": "Bearer p001_nope"})
    assert response.status_code == 401
    assert watched.counts == {"checkout": 1, "begin": 1, "rollback": 1}, watched.counts


def test_a_dead_pooled_connection_is_replaced_without_an_error(api: Any) -> None:
    """No pre-ping: after the database dropped every connection (a restart), the next
    request finds its pooled connection dead on its first statement and retries once."""
    headers = api.headers("alice")
    post = _draft(api, headers)
    for _ in range(3):  # fill the pool with connections that will die
        assert api.client.get(f"/api/v1/posts/{post['id']}", headers=headers).status_code == 200
    with api.admin.connect() as conn:
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    assert killed and killed >= 1
    response = api.client.patch(f"/api/v1/posts/{post['id']}/draft", json={"content": "after"},
                                headers={**headers, "If-Match": f'"{post["version"]}"'})
    assert response.status_code == 200, response.text
    assert api.client.get(f"/api/v1/posts/{post['id']}", headers=headers).json()[
        "content"] == "after"


def test_no_free_connection_is_503_with_retry_after_everywhere(pg_url: str, clock: Any,
                                                               admin: sa.Engine) -> None:
    """Overload (every pooled connection busy past the pool timeout) is the server's
    503 with Retry-After, on a store route, on token administration and on sign-in."""
    from remote_support import PASSWORD, asgi_client, ensure_user, sign_in

    app = make_test_app(pg_url, clock, pool_size=1, pool_timeout=0.2)
    ensure_user(admin, "alice", clock)
    with asgi_client(app) as client:
        headers = {"Authorization": f"Bearer {sign_in(client, '', 'alice')}"}
        held = app.state.ctx.engine.connect()  # the pool's only connection
        try:
            answers = [
                client.get("/api/v1/me", headers=headers),
                client.get("/api/v1/auth/tokens", headers=headers),
                client.post("/api/v1/auth/token",
                            json={"username": "alice", "password": PASSWORD}),
            ]
        finally:
            held.close()
        for response in answers:
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["category"] == "database"
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    app.state.ctx.close()


def test_a_small_pool_serves_many_concurrent_writers(pg_url: str, clock: Any,
                                                     admin: sa.Engine) -> None:
    """48 writers at once through real uvicorn, 2 connections per worker: every save is
    answered (they queue for a connection), and the pool never grows."""
    from post001.server.auth import issue_token

    # A generous wait for a connection: this checks queueing, not speed.
    app = make_test_app(pg_url, clock, pool_size=2, pool_timeout=120)
    engine = app.state.ctx.engine
    in_use = [0, 0]  # now, most
    lock = threading.Lock()

    def out(*_: Any) -> None:
        with lock:
            in_use[0] += 1
            in_use[1] = max(in_use)

    def back(*_: Any) -> None:
        with lock:
            in_use[0] -= 1

    event.listen(engine, "checkout", out)
    event.listen(engine, "checkin", back)
    writers = 48
    from remote_support import ensure_user

    tokens = []
    for i in range(writers):
        ensure_user(admin, f"writer{i}", clock)
        tokens.append(issue_token(admin, f"writer{i}", now=clock()))
    statuses: Counter[int] = Counter()
    barrier = threading.Barrier(writers)
    with live_server(app) as base:

        def write(token: str) -> None:
            with httpx.Client(base_url=base, timeout=60,
                              headers={"Authorization": f"Bearer {token}"}) as client:
                post = client.post("/api/v1/posts", json={"title": "w"}).json()
                version = post["version"]
                barrier.wait()
                for i in range(5):
                    r = client.patch(f"/api/v1/posts/{post['id']}/draft",
                                     json={"content": f"{i}"},
                                     headers={"If-Match": f'"{version}"'})
                    with lock:
                        statuses[r.status_code] += 1
                    if r.status_code == 200:
                        version = r.json()["version"]

        threads = [threading.Thread(target=write, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    app.state.ctx.close()
    assert statuses == {200: writers * 5}, statuses
    assert in_use[1] <= 2


def _traced_requests(engine: sa.Engine, trace: Any) -> Any:
    """Trace (libpq's protocol trace) every connection the engine opens from now on;
    the returned function stops it. The engine's own connect hooks run first, so the
    trace starts at the first request's messages."""
    from psycopg import pq

    traced: list[Any] = []

    def start(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.pgconn.trace(trace.fileno())
        dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        traced.append(dbapi_conn)

    engine.dispose()  # pooled connections reconnect, traced
    event.listen(engine, "connect", start)

    def stop() -> None:
        event.remove(engine, "connect", start)
        for conn in traced:
            conn.pgconn.untrace()
        engine.dispose()

    return stop


def test_repeated_statements_are_prepared_on_a_direct_connection(api: Any, tmp_path: Any
                                                                 ) -> None:
    """POST001_SERVER_PREPARED_STATEMENTS=auto: the server reached PostgreSQL on the port
    it listens on, so psycopg prepares a statement after its fifth use; from then on the
    token lookup is a Bind of the named statement, its text no longer parsed
    (tests/server/test_pgbouncer.py: through the pooler they stay off)."""
    headers = api.headers("alice")
    post = _draft(api, headers)
    with open(tmp_path / "trace", "w") as trace:
        stop = _traced_requests(api.ctx.engine, trace)
        try:
            for _ in range(9):
                assert api.client.get(f"/api/v1/posts/{post['id']}",
                                      headers=headers).status_code == 200
        finally:
            stop()
    parses = [line for line in (tmp_path / "trace").read_text().splitlines()
              if line.startswith("F") and "\tParse\t" in line
              and "post001_token_lookup" in line]
    assert len(parses) == 6, parses  # five times unnamed, then once as a named statement
    assert '"_pg3_' in parses[-1] and all('"_pg3_' not in line for line in parses[:5])


@pytest.mark.parametrize(("mode", "threshold"), [("off", None), ("on", 5), ("auto", 5)])
def test_the_prepared_statements_setting_reaches_every_connection(
        pg_url: str, clock: Any, mode: str, threshold: int | None) -> None:
    app = make_test_app(pg_url, clock, prepared_statements=mode)
    try:
        for engine in (app.state.ctx.engine, app.state.ctx.system_engine):
            with engine.connect() as conn:
                assert conn.connection.driver_connection.prepare_threshold == threshold
    finally:
        app.state.ctx.close()


def test_after_a_burst_sequential_requests_reuse_the_most_recent_connection(api: Any
                                                                            ) -> None:
    """The pool is last in, first out: at low load one warm connection (its prepared
    statements, the database's cached trigger plans) serves request after request,
    where first in, first out would rotate through every connection a burst opened."""
    headers = api.headers("alice")
    post = _draft(api, headers)
    engine = api.ctx.engine
    burst = [engine.connect() for _ in range(3)]  # as a burst of requests would
    for conn in burst:
        conn.close()
    used: list[int] = []

    def checkout(dbapi_conn: Any, *_: Any) -> None:
        used.append(id(dbapi_conn))

    event.listen(engine, "checkout", checkout)
    try:
        for _ in range(5):
            assert api.client.get(f"/api/v1/posts/{post['id']}",
                                  headers=headers).status_code == 200
    finally:
        event.remove(engine, "checkout", checkout)
    assert len(used) == 5 and len(set(used)) == 1, used


def test_the_token_lookup_reads_its_row_from_the_driver(api: Any) -> None:
    """`direct.first_text`, which every request's token lookup goes through: the row by
    column name (a repeated name renamed by its position), None for no row, and a
    driver error as SQLAlchemy's, like any other statement."""
    from post001.core.sql import direct

    with api.ctx.engine.connect() as conn:
        row = direct.first_text(
            conn, "SELECT set_config('post001.a', %(a)s, true), "
            "set_config('post001.b', 'b', true), 7 AS n", {"a": "a"})
        assert row is not None
        assert (row.set_config, row._1, row.n) == ("a", "b", 7)
        assert direct.first_text(conn, "SELECT 1 AS n WHERE false", {}) is None
        with pytest.raises(sa.exc.ProgrammingError):
            direct.first_text(conn, "SELECT no_such_column", {})
