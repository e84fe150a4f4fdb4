"""The operator's commands: `post001 flags`, `post001 rollout preview`, `post001 stats`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import post001
from post001.cli.main import cli
from post001.core.config import FeatureFlags, rollout_bucket
from post001.core.errors import ConflictError, PermissionDenied, ValidationError
from post001.core.models import CollectiveCreate, PostCreate, PostUpdate, Role


def invoke(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, [*args, "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout if code == 0 else result.stderr)


def write_config(text: str) -> None:
    Path(os.environ["POST001_CONFIG"]).write_text(text, encoding="utf-8")


def users(url: str, names: list[str]) -> dict[str, Any]:
    ids = {}
    for name in names:
        with post001.connect(url, user=name) as store:
            ids[name] = store.user_id
    return ids


# --- flags ---------------------------------------------------------------------------------


def test_flags_come_from_environment_then_config_then_default(sqlite_url: str) -> None:
    plain = invoke("--db", sqlite_url, "flags")
    assert {n: (f["value"], f["source"]) for n, f in plain["flags"].items()} == {
        "enable_multi_collective": (True, "default"), "enable_enhanced_editor": (True, "default"),
        "enable_validation": (True, "default"), "rollout_percentage": (100, "default")}

    write_config('database_url = "ignored"\n[flags]\nrollout_percentage = 40\n'
                 "enable_validation = false\n")
    configured = invoke("--db", sqlite_url, "flags",
                        env={"ENABLE_VALIDATION": "true", "ENABLE_MULTI_COLLECTIVE": "off"})
    assert {n: (f["value"], f["source"]) for n, f in configured["flags"].items()} == {
        "enable_multi_collective": (False, "environment"),
        "enable_enhanced_editor": (True, "default"),
        "enable_validation": (True, "environment"),  # the environment wins over config
        "rollout_percentage": (40, "config")}
    assert configured["rollout_percentage"] == 40


def test_flags_for_a_user_agree_with_the_bucket(sqlite_url: str) -> None:
    ids = users(sqlite_url, [f"writer{i}" for i in range(30)])
    for name, uid in ids.items():
        shown = invoke("--db", sqlite_url, "flags", "--user", name,
                       env={"ROLLOUT_PERCENTAGE": "50"})["user"]
        assert shown["bucket"] == rollout_bucket(uid)
        assert shown["in_rollout"] is (rollout_bucket(uid) < 50) is shown["multi_collective"]
    inside = sum(1 for uid in ids.values() if rollout_bucket(uid) < 50)
    assert 0 < inside < 30  # both sides exercised (30 random ids: p(all one side) ~ 1e-9)


def test_flags_bad_input(sqlite_url: str) -> None:
    users(sqlite_url, ["alice"])
    bad_env = invoke("--db", sqlite_url, "flags", code=1, env={"ROLLOUT_PERCENTAGE": "150"})
    assert bad_env["error"]["field"] == "rollout_percentage"
    assert "ROLLOUT_PERCENTAGE" in bad_env["error"]["message"]
    assert "150" in bad_env["error"]["message"]
    write_config("[flags]\nenable_validation = \"maybe\"\n")
    bad_config = invoke("--db", sqlite_url, "flags", code=1)["error"]
    assert bad_config["field"] == "enable_validation" and "config" in bad_config["message"]
    write_config("[flags\n")
    broken = invoke("--db", sqlite_url, "flags", code=1)["error"]
    assert broken["field"] == "config"
    write_config("")
    nobody = invoke("--db", sqlite_url, "flags", "--user", "nobody", code=1)["error"]
    assert nobody["category"] == "not_found" and nobody["field"] == "user"


def test_config_flags_reach_the_store(sqlite_url: str) -> None:
    write_config("[flags]\nenable_multi_collective = false\n")
    assert FeatureFlags().enable_multi_collective is False
    with post001.connect(sqlite_url, user="alice") as alice:
        for slug in ("one", "two"):
            alice.create_collective(CollectiveCreate(slug=slug, name=slug))
        with pytest.raises(ValidationError) as caught:
            alice.create_post(PostCreate(title="t", collectives=["one", "two"]))
        assert caught.value.field == "collectives"
        post = alice.create_post(PostCreate(title="t", collectives=["one"]))
    # The legacy flow mirrors the one collective to posts.collective_id.
    import sqlalchemy as sa

    from post001.core.sql.engine import make_engine
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT collective_id IS NOT NULL FROM posts WHERE id = :p"),
                            {"p": post.id.hex}).scalar() == 1
    engine.dispose()


# --- rollout preview -------------------------------------------------------------------------


def test_rollout_preview_counts_and_names(sqlite_url: str) -> None:
    ids = users(sqlite_url, [f"user{i:02d}" for i in range(40)])
    buckets = {name: rollout_bucket(uid) for name, uid in ids.items()}
    previous: set[str] = set()
    for percentage in (5, 15, 40, 100):
        shown = invoke("--db", sqlite_url, "rollout", "preview", "--percentage",
                       str(percentage), env={"ROLLOUT_PERCENTAGE": "15"})
        names = {u["username"] for u in shown["users_inside"]}
        assert names == {n for n, b in buckets.items() if b < percentage}
        assert shown["inside"] == len(names) and shown["users"] == 40
        assert previous <= names  # stable buckets: raising the percentage only adds
        now = {n for n, b in buckets.items() if b < 15}
        assert set(shown["joining"]) == names - now and set(shown["leaving"]) == now - names
        previous = names
    assert previous == set(buckets)


def test_rollout_preview_bad_input(sqlite_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", sqlite_url, "rollout", "preview",
                                      "--percentage", "101", "--json"])
    assert result.exit_code == 2
    assert "0<=x<=100" in json.loads(result.stderr)["error"]["message"]
    missing = invoke("--db", f"sqlite:///{tmp_path / 'none.db'}", "rollout", "preview",
                     "--percentage", "5", code=1)["error"]
    assert missing["field"] == "db"


# --- stats ------------------------------------------------------------------------------------


def test_stats_from_the_audit_trail(db_url: str, clock: Any) -> None:
    alice = post001.connect(db_url, user="alice", clock=clock)
    bob = post001.connect(db_url, user="bob", clock=clock)
    try:
        for slug in ("a", "b", "c"):
            alice.create_collective(CollectiveCreate(slug=slug, name=slug))
        alice.add_member("a", "bob", Role.CONTRIBUTOR)
        alice.add_member("b", "bob", Role.MEMBER)
        three = alice.create_post(PostCreate(title="Three", content="x",
                                             collectives=["a", "b", "c"]))
        version = alice.save_draft(three.id, PostUpdate(content="xy"),
                                   expected_version=three.version)
        alice.save_draft(three.id, PostUpdate(content="xyz"), expected_version=version)
        with pytest.raises(ConflictError):
            alice.save_draft(three.id, PostUpdate(content="stale"), expected_version=1)
        with pytest.raises(ValidationError):
            alice.save_draft(three.id, PostUpdate(content="x" * 200_001),
                             expected_version=version + 1)
        clock.advance(hours=2)
        alice.publish(three.id)
        one = alice.create_post(PostCreate(title="One", content="x", collectives=["a"]))
        clock.advance(hours=1)
        alice.publish(one.id)
        pending = bob.create_post(PostCreate(title="Pending", content="x",
                                             collectives=["a"]))
        bob.publish(pending.id)  # contributor: pending review still counts as fanned out
        refused = bob.create_post(PostCreate(title="Nope", content="x",
                                             collectives=["a", "b"]))
        with pytest.raises(PermissionDenied):  # a member of b may not post there
            bob.publish(refused.id)
    finally:
        alice.close()
        bob.close()

    day = clock.now.date().isoformat()
    stats = invoke("--db", db_url, "stats", "--since", "2026-01-01")
    assert stats["published_posts"] == 3 and stats["multi_collective_posts"] == 1
    assert stats["collectives_per_post"] == {"average": round(5 / 3, 2),
                                             "distribution": {"1": 2, "3": 1}}
    today = next(d for d in stats["per_day"] if d["day"] == day)
    assert (today["published"], today["multi_collective"]) == (3, 1)
    assert stats["top_collectives"][0] == {"collective": "a", "published_shares": 3}
    assert stats["creation_to_publish_hours"]["posts"] == 3
    assert stats["creation_to_publish_hours"]["median"] == pytest.approx(1.0, abs=0.01)
    assert stats["autosave"] == {"saves": 2, "conflicts": 1, "refused": 1,
                                 "success_rate_percent": 50.0}
    assert stats["validation_refusals"] == {"saves": 1, "publishes": 1,
                                            "scheduled_publishes": 0}
    later = invoke("--db", db_url, "stats", "--since", "2026-06-01")
    assert later["published_posts"] == 0 and later["autosave"]["success_rate_percent"] is None


def test_stats_bad_input(sqlite_url: str, tmp_path: Path) -> None:
    for since, words in (("yesterday", "not a date"), ("2999-01-01", "in the future"),
                         ("1900-01-01", "ten years")):
        error = invoke("--db", sqlite_url, "stats", "--since", since, code=1)["error"]
        assert error["field"] == "since" and words in error["message"]
    missing = invoke("--db", f"sqlite:///{tmp_path / 'none.db'}", "stats", code=1)["error"]
    assert missing["field"] == "db" and "no database" in missing["message"]
    assert not (tmp_path / "none.db").exists()  # refused, not created empty
