"""`GET /metrics`: who may read it, what it counts, and several workers adding up."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from inprocess_app import app_client
from prometheus_client.parser import text_string_to_metric_families
from remote_support import free_port
from subprocess_support import post001_serve

from post001.server import metrics
from post001.server.config import ServerSettings

TOKEN = "metrics-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_for_loopback_or_the_token(sqlite_url: str) -> None:
    with app_client(sqlite_url) as (_, local):
        ok = local.get("/metrics")
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")
        assert "post001_http_requests_total" in ok.text
        proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403 and proxied.json()["error"]["category"] == "permission"
        assert "/metrics" not in local.get("/openapi.json").text
    with app_client(sqlite_url, host="203.0.113.9") as (_, remote):
        refused = remote.get("/metrics")
        assert refused.status_code == 403
        assert "POST001_SERVER_METRICS_TOKEN" in str(refused.json()["error"]["actions"])
        assert remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                          ).status_code == 401  # no token configured: no token works
    with app_client(sqlite_url, host="203.0.113.9", token=TOKEN) as (_, remote):
        assert remote.get("/metrics").status_code == 403
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        good = remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200 and "post001_workers" in good.text


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValueError):
        ServerSettings(metrics_token="short")


@pytest.mark.postgres
def test_what_metrics_count(pg_url: str, clock: Any) -> None:
    from remote_support import PASSWORD, cheap_password_hashing, ensure_user

    cheap_password_hashing()
    admin_engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        ensure_user(admin_engine, "alice", clock)
    finally:
        admin_engine.dispose()
    with app_client(pg_url) as (app, client):
        before = client.get("/metrics").text
        for _ in range(2):
            assert client.post("/api/v1/auth/token", json={
                "username": "alice", "password": "wrong password"}).status_code == 401
        token = client.post("/api/v1/auth/token", json={
            "username": "alice", "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/collectives", headers=auth, json={
            "slug": "essays", "name": "Essays"}).status_code == 201
        post = client.post("/api/v1/posts", headers=auth, json={
            "title": "Hi", "content": "words", "collectives": ["essays"]}).json()
        saved = client.patch(f"/api/v1/posts/{post['id']}/draft", headers={
            **auth, "If-Match": '"1"'}, json={"content": "more"})
        assert saved.status_code == 200
        stale = client.patch(f"/api/v1/posts/{post['id']}/draft", headers={
            **auth, "If-Match": '"1"'}, json={"content": "stale"})
        assert stale.status_code in (409, 412)
        assert client.post(f"/api/v1/posts/{post['id']}/publish", headers=auth
                           ).status_code == 200
        assert client.get("/no/such/page/12345").status_code == 404
        from post001.server.scheduler import run_due

        run_due(app.state.ctx)
        after = client.get("/metrics").text

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("post001_signin_failures_total") == 2
    assert delta("post001_saves_total", result="succeeded") == 1
    assert delta("post001_saves_total", result="conflict") == 1
    assert delta("post001_publishes_total", result="published") == 1
    assert delta("post001_publish_shares_total", status="published") == 1
    assert delta("post001_http_requests_total", method="PATCH",
                 route="/api/v1/posts/{post_id}/draft", status="200") == 1
    assert delta("post001_http_request_duration_seconds_count", method="POST",
                 route="/api/v1/posts/{post_id}/publish", status="200") == 1
    # An unknown path never becomes a label value of its own.
    assert delta("post001_http_requests_total", method="GET", route="<unmatched>",
                 status="404") == 1
    assert "/no/such/page" not in after
    assert delta("post001_scheduler_runs_total", result="ok") == 1
    assert value(after, "post001_scheduler_lag_seconds") == 0
    assert value(after, "post001_scheduler_last_run_timestamp_seconds") > time.time() - 60
    assert value(after, "post001_db_pool_connections_max", pool="app") >= 20
    assert ("post001_db_pool_connections_in_use", (("pool", "app"),)) in samples(after)


def test_sign_in_throttles_are_counted(sqlite_url: str, clock: Any) -> None:
    with app_client(sqlite_url) as (app, client):
        before = value(client.get("/metrics").text, "post001_signin_throttled_total")
        limit = app.state.ctx.server.login_attempts_per_minute
        codes = [client.post("/api/v1/auth/token", json={
            "username": "nobody", "password": "whatever1"}).status_code
            for _ in range(limit + 2)]
        after = value(client.get("/metrics").text, "post001_signin_throttled_total")
    assert codes.count(429) == 2 and after - before == 2


def test_database_connection_failures_are_counted() -> None:
    from post001.core.sql.engine import make_engine

    engine = make_engine(f"postgresql://nobody@127.0.0.1:{free_port()}/none",
                         pool_pre_ping=False)
    metrics.watch_engine(engine, "probe")
    before = metrics.DB_ERRORS.labels("connection")._value.get()
    with pytest.raises(sa.exc.OperationalError):
        engine.connect()
    assert metrics.DB_ERRORS.labels("connection")._value.get() == before + 1
    engine.dispose()


@pytest.mark.slow
def test_several_workers_add_up(tmp_path: Path) -> None:
    """`post001 serve --workers 2`: whichever worker answers /metrics reports every
    worker's requests."""
    env = {**os.environ, "POST001_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with post001_serve("--workers", "2", env=env) as served:
        base, server = served.url, served.process
        deadline = time.monotonic() + 60
        workers = 0.0
        while time.monotonic() < deadline and workers < 2:
            with contextlib.suppress(httpx.HTTPError):
                workers = value(httpx.get(f"{base}/metrics", timeout=5).text, "post001_workers")
            if workers < 2:
                time.sleep(0.2)
        assert workers == 2, "two workers never reported"
        first = value(httpx.get(f"{base}/metrics").text, "post001_http_requests_total",
                      method="GET", route="/api/health", status="200")
        for _ in range(40):  # a new connection each: the kernel spreads them over workers
            assert httpx.get(f"{base}/api/health").status_code == 200
        pids = {p.name.split("_")[-1] for p in _metric_files(server.pid)}
        totals = {value(httpx.get(f"{base}/metrics").text, "post001_http_requests_total",
                        method="GET", route="/api/health", status="200") for _ in range(6)}
        assert totals == {first + 40}  # every scrape, whichever worker answers it
        assert len(pids) >= 2


def _metric_files(parent: int) -> list[Path]:
    """The multiprocess folder `post001 serve` made (found through a worker's env)."""
    for child in Path("/proc").glob("[0-9]*"):
        try:
            environ = (child / "environ").read_bytes().split(b"\0")
            if int((child / "stat").read_text().split()[3]) != parent:
                continue
        except (OSError, ValueError, IndexError):
            continue
        for item in environ:
            if item.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                return list(Path(item.split(b"=", 1)[1].decode()).glob("*.db"))
    return []


def test_health_reports_the_flags_in_force(sqlite_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Flags from config.toml's [flags] (environment over config) reach the server's
    health report."""
    Path(os.environ["POST001_CONFIG"]).write_text(
        "[flags]\nrollout_percentage = 15\nenable_validation = false\n", encoding="utf-8")
    monkeypatch.setenv("ENABLE_VALIDATION", "true")
    token = "t" * 24  # the figures are for the metrics token's holder (docs/server.md)
    with app_client(sqlite_url, token=token) as (_, client):
        flags = client.get("/api/health/post-creation",
                           headers={"Authorization": f"Bearer {token}"}).json()["feature_flags"]
    assert flags == {"multi_collective_posts": True, "enhanced_editor": True,
                     "validation": True, "rollout_percentage": 15}
