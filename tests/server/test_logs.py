"""Structured logs: request ids on every line, JSON lines on request, and no password,
token, token hash or password hash in any line, tracebacks included."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from post001.core.logs import REQUEST_ID, configure_logging, scrub
from post001.core.sql.engine import make_engine

PASSWORD = "Tr0ub4dor&3-never-log-me"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_secret_reaches_a_log(fmt: str, db_url: str, captured: io.StringIO) -> None:
    from inprocess_app import app_client

    from post001.core.clock import utcnow
    from post001.server import auth

    configure_logging(fmt, "DEBUG", stream=captured)
    # Both backends: PostgreSQL's errors quote the token's hash too.
    admin = make_engine(db_url)
    auth.add_user(admin, "alice", PASSWORD, now=utcnow())
    with admin.connect() as conn:
        password_hash = conn.execute(sa.text("SELECT password_hash FROM user_passwords")
                                     ).scalar_one()
    with app_client(db_url) as (_, client):
        assert client.post("/api/v1/auth/token", json={
            "username": "alice", "password": PASSWORD + "x"}).status_code == 401
        token = client.post("/api/v1/auth/token", json={
            "username": "alice", "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "req-secret-test"}
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert client.get(f"/api/v1/me?token={token}&password={PASSWORD}",
                          headers=headers).status_code == 200
        # The database fails under a request whose SQL carries the token's hash and a
        # sign-in whose lookup fails: both end in logged tracebacks.
        with admin.begin() as conn:
            conn.execute(sa.text("ALTER TABLE api_tokens RENAME TO api_tokens_gone"))
            conn.execute(sa.text("ALTER TABLE user_passwords RENAME TO user_passwords_gone"))
        failed = client.get("/api/v1/me", headers=headers)
        assert failed.status_code in (500, 503)
        assert client.post("/api/v1/auth/token", json={
            "username": "alice", "password": PASSWORD}).status_code in (500, 503)
        logging.getLogger("post001.test").error(
            "a careless line: password=%s token %s hash %s", PASSWORD, token, password_hash)
        try:
            raise RuntimeError(f"login failed for {{'password': '{PASSWORD}'}} with "
                               f"Authorization: Bearer {token}")
        except RuntimeError:
            logging.getLogger("post001.test").exception("and a traceback")
    admin.dispose()

    text = captured.getvalue()
    secrets = {"password": PASSWORD, "token": token,
               "token hash": hashlib.sha256(token.encode()).hexdigest(),
               "password hash": password_hash, "argon2 salt": password_hash.split("$")[-2]}
    leaked = sorted(name for name, secret in secrets.items() if secret in text)
    assert leaked == []
    # ... and the lines that could have leaked were really written, tracebacks included.
    assert "Traceback" in text and "api_tokens" in text and "[parameters: hidden]" in text
    assert "req-secret-test" in text and "/api/v1/me" in text
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        access = [r for r in lines if r["logger"] == "post001.access"]
        assert access and all(r["request_id"] for r in access)
        assert {"method", "route", "status", "duration_ms"} <= set(access[0])
        assert any("exception" in r and r.get("request_id") == "req-secret-test"
                   for r in lines)


def test_scrub_patterns() -> None:
    token = "p001_" + "Ab3_-" * 9
    cases = {
        f"Bearer {token}": token,
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo": "aGFzaGhhc2hoYXNo",
        "hash " + "ab" * 32: "ab" * 32,
        "postgresql://me:pa55word@db/x": "pa55word",
        '{"password": "pw with spaces"}': "pw with spaces",
        "[SQL: SELECT 1]\n[parameters: ('x-secret',)]": "x-secret",
    }
    for text, secret in cases.items():
        assert secret not in scrub(text), text
    assert scrub("request 0123456789abcdef0123456789abcdef ok") == \
        "request 0123456789abcdef0123456789abcdef ok"  # request ids stay


def test_lines_carry_the_request_id(captured: io.StringIO) -> None:
    configure_logging("json", "INFO", stream=captured)
    token = REQUEST_ID.set("abc123")
    try:
        logging.getLogger("post001.x").info("hello %s", "world", extra={"n": 3})
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(captured.getvalue())
    assert (line["message"], line["request_id"], line["n"], line["level"]) == (
        "hello world", "abc123", 3, "info")


def test_cli_logs_json_lines_with_one_request_id(tmp_path: Path) -> None:
    env = {**os.environ, "POST001_LOG_FORMAT": "json", "POST001_LOG_LEVEL": "INFO"}
    out = subprocess.run(
        [sys.executable, "-m", "post001.cli.main", "--db", f"sqlite:///{tmp_path / 'x.db'}",
         "db", "upgrade"], env=env, capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in out.stderr.splitlines()]
    assert lines and {line["logger"] for line in lines} >= {"alembic.runtime.migration"}
    assert len({line["request_id"] for line in lines}) == 1
