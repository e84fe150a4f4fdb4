"""Pure helpers: revision retention, feature flags and rollout, text, model limits, errors."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from post001.core import errors
from post001.core.config import FeatureFlags, rollout_bucket
from post001.core.models import (
    CollectiveCreate,
    PostCreate,
    PostFields,
    PostUpdate,
    UserCreate,
)
from post001.core.revisions import revisions_to_keep, should_prune
from post001.core.text import post_slug, slugify, word_count

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # on a 10-minute boundary

# --- revisions -----------------------------------------------------------------------------


def test_keeps_everything_up_to_fifty() -> None:
    revs = [(v, T0 + timedelta(seconds=v)) for v in range(1, 51)]
    assert revisions_to_keep(revs) == set(range(1, 51))
    assert revisions_to_keep([]) == set()


def test_keeps_last_fifty_and_newest_of_each_older_window() -> None:
    # 200 saves, one every 30 s: 20 saves per 10-minute window, 10 windows.
    revs = [(v, T0 + timedelta(seconds=30 * (v - 1))) for v in range(1, 201)]
    keep = revisions_to_keep(revs)
    assert set(range(151, 201)) <= keep  # the last 50
    older = keep - set(range(151, 201))
    # versions 1..150 span windows [1..20], [21..40], ... [141..150 is part of 141..160]
    assert older == {20, 40, 60, 80, 100, 120, 140, 150}
    assert len(keep) == 58


def test_one_save_per_hour_for_days_keeps_every_one() -> None:
    revs = [(v, T0 + timedelta(hours=v)) for v in range(1, 121)]
    assert revisions_to_keep(revs) == set(range(1, 121))


def test_input_order_does_not_matter() -> None:
    revs = [(v, T0 + timedelta(seconds=7 * v)) for v in range(1, 300)]
    shuffled = revs[:]
    random.Random(3).shuffle(shuffled)
    assert revisions_to_keep(shuffled) == revisions_to_keep(revs)


revision_sets = st.lists(
    st.tuples(st.integers(1, 100_000), st.integers(0, 30 * 24 * 3600)),
    max_size=400,
    unique_by=lambda r: r[0],
).map(lambda rows: [(v, T0 + timedelta(seconds=s)) for v, s in rows])


@given(revs=revision_sets)
def test_retention_is_bounded_and_keeps_the_newest(revs: list[tuple[int, datetime]]) -> None:
    keep = revisions_to_keep(revs)
    versions = {v for v, _ in revs}
    assert keep <= versions
    ordered = sorted(revs, key=lambda r: r[0], reverse=True)
    recent, older = ordered[:50], ordered[50:]
    windows = {int(at.timestamp()) // 600 for _, at in older}
    assert len(keep) <= 50 + len(windows)
    assert {v for v, _ in recent} <= keep
    if revs:
        assert max(versions) in keep
    # every older window keeps exactly one version: its newest
    for window in windows:
        in_window = [v for v, at in older if int(at.timestamp()) // 600 == window]
        assert keep & set(in_window) == {max(in_window)}


@pytest.mark.parametrize(("version", "expected"), [
    (1, False), (10, False), (99, False), (100, True), (101, False), (200, True),
    (1000, True),
])
def test_should_prune(version: int, expected: bool) -> None:
    assert should_prune(version) is expected


# --- rollout and flags ---------------------------------------------------------------------

FIXED_IDS = [uuid.UUID(int=n * 7919) for n in range(1, 20)] + [
    uuid.UUID("12345678-1234-5678-1234-567812345678")
]


def test_rollout_bucket_is_stable_across_processes() -> None:
    code = (
        "import sys, uuid; from post001.core.config import rollout_bucket; "
        "print(' '.join(str(rollout_bucket(uuid.UUID(a))) for a in sys.argv[1:]))"
    )
    for seed in ("0", "12345"):  # a salted hash() would differ between these
        out = subprocess.run(
            [sys.executable, "-c", code, *map(str, FIXED_IDS)],
            capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout.split()
        assert [int(b) for b in out] == [rollout_bucket(u) for u in FIXED_IDS]


@given(user_id=st.uuids())
def test_rollout_bucket_in_range(user_id: uuid.UUID) -> None:
    bucket = rollout_bucket(user_id)
    assert isinstance(bucket, int) and 0 <= bucket <= 99
    assert rollout_bucket(user_id) == bucket


def test_rollout_bucket_roughly_uniform() -> None:
    rng = random.Random(20260105)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(10_000)]
    deciles = Counter(rollout_bucket(u) // 10 for u in ids)
    assert set(deciles) == set(range(10))
    for decile, count in sorted(deciles.items()):
        assert 800 <= count <= 1200, (decile, count)


@given(user_id=st.uuids())
def test_in_rollout_respects_zero_and_hundred(user_id: uuid.UUID) -> None:
    assert FeatureFlags(rollout_percentage=0).in_rollout(user_id) is False
    assert FeatureFlags(rollout_percentage=100).in_rollout(user_id) is True
    assert FeatureFlags(rollout_percentage=0).multi_collective_for(user_id) is False


@given(user_id=st.uuids(), percentage=st.integers(0, 100))
def test_in_rollout_is_bucket_below_percentage(user_id: uuid.UUID, percentage: int) -> None:
    flags = FeatureFlags(rollout_percentage=percentage)
    assert flags.in_rollout(user_id) is (rollout_bucket(user_id) < percentage)


def test_rollout_percentage_matches_share_of_users() -> None:
    rng = random.Random(7)
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(5_000)]
    inside = sum(FeatureFlags(rollout_percentage=30).in_rollout(u) for u in ids)
    assert 1300 <= inside <= 1700


def test_flag_defaults() -> None:
    flags = FeatureFlags()
    assert flags.enable_multi_collective is True
    assert flags.enable_enhanced_editor is True
    assert flags.enable_validation is True
    assert flags.rollout_percentage == 100
    assert flags.as_dict() == {
        "multi_collective_posts": True, "enhanced_editor": True, "validation": True,
        "rollout_percentage": 100,
    }


@pytest.mark.parametrize("name", [
    "ENABLE_MULTI_COLLECTIVE", "ENABLE_ENHANCED_EDITOR", "ENABLE_VALIDATION",
])
@pytest.mark.parametrize(("raw", "expected"), [
    ("false", False), ("0", False), ("False", False), ("true", True), ("1", True),
])
def test_enable_flags_from_env(monkeypatch: pytest.MonkeyPatch, name: str, raw: str,
                               expected: bool) -> None:
    monkeypatch.setenv(name, raw)
    flags = FeatureFlags()
    assert getattr(flags, name.lower()) is expected
    others = {"enable_multi_collective", "enable_enhanced_editor", "enable_validation"}
    for other in others - {name.lower()}:
        assert getattr(flags, other) is True


def test_multi_collective_off_means_legacy_for_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENABLE_MULTI_COLLECTIVE", "false")
    flags = FeatureFlags()
    assert all(not flags.multi_collective_for(u) for u in FIXED_IDS)
    assert all(flags.in_rollout(u) for u in FIXED_IDS)


@pytest.mark.parametrize("raw", ["0", "37", "100"])
def test_rollout_percentage_from_env(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("ROLLOUT_PERCENTAGE", raw)
    assert FeatureFlags().rollout_percentage == int(raw)


@pytest.mark.parametrize("raw", ["-1", "101", "1000", "fifty"])
def test_rollout_percentage_out_of_range_rejected(monkeypatch: pytest.MonkeyPatch,
                                                  raw: str) -> None:
    monkeypatch.setenv("ROLLOUT_PERCENTAGE", raw)
    with pytest.raises(pydantic.ValidationError):
        FeatureFlags()


# --- text ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Hello, World!", "hello-world"),
    ("  many   spaces  ", "many-spaces"),
    ("Café déjà vu", "cafe-deja-vu"),
    ("snake_case and CAPS", "snake-case-and-caps"),
    ("--already-a-slug--", "already-a-slug"),
    ("!!!", ""),
    ("", ""),
    ("日本語", ""),
])
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


@given(text=st.text(max_size=200))
def test_slugify_output_is_a_valid_slug(text: str) -> None:
    slug = slugify(text)
    assert len(slug) <= 48
    if slug:
        assert CollectiveCreate(slug=slug, name="x").slug == slug


def test_slugify_max_length_does_not_end_in_hyphen() -> None:
    assert slugify("abcd efgh", max_length=5) == "abcd"
    assert len(slugify("word " * 40)) <= 48


def test_post_slug() -> None:
    pid = uuid.UUID("0123456789abcdef0123456789abcdef")
    assert post_slug("Hello, World!", pid) == "hello-world-01234567"
    assert post_slug("", pid) == "untitled-01234567"
    assert post_slug("???", pid) == "untitled-01234567"
    other = uuid.UUID("fedcba9876543210fedcba9876543210")
    assert post_slug("Same", pid) != post_slug("Same", other)


def test_word_count() -> None:
    assert word_count("") == 0
    assert word_count("one two\nthree\t four  ") == 4


# --- models: limits declared once on the fields --------------------------------------------

# (model, field, value at the limit, value one over it)
_HTTP = "http://"
LIMITS: list[Any] = [
    pytest.param(PostFields, "title", "t" * 200, "t" * 201, id="title-200"),
    pytest.param(PostFields, "subtitle", "s" * 300, "s" * 301, id="subtitle-300"),
    pytest.param(PostFields, "byline", "b" * 100, "b" * 101, id="byline-100"),
    pytest.param(PostFields, "seo_title", "s" * 60, "s" * 61, id="seo_title-60"),
    pytest.param(PostFields, "meta_description", "m" * 160, "m" * 161,
                 id="meta_description-160"),
    pytest.param(PostFields, "thumbnail_url", _HTTP + "a" * (2048 - len(_HTTP)),
                 _HTTP + "a" * (2049 - len(_HTTP)), id="thumbnail_url-2048"),
    pytest.param(PostUpdate, "title", "t" * 200, "t" * 201, id="update-title-200"),
    pytest.param(PostUpdate, "subtitle", "s" * 300, "s" * 301, id="update-subtitle-300"),
    pytest.param(PostUpdate, "byline", "b" * 100, "b" * 101, id="update-byline-100"),
    pytest.param(PostUpdate, "seo_title", "s" * 60, "s" * 61, id="update-seo_title-60"),
    pytest.param(PostUpdate, "meta_description", "m" * 160, "m" * 161,
                 id="update-meta_description-160"),
    pytest.param(PostUpdate, "thumbnail_url", _HTTP + "a" * (2048 - len(_HTTP)),
                 _HTTP + "a" * (2049 - len(_HTTP)), id="update-thumbnail_url-2048"),
    # {"k":"..."} is 8 bytes of JSON around the value
    pytest.param(PostFields, "metadata", {"k": "x" * (64 * 1024 - 8)},
                 {"k": "x" * (64 * 1024 - 7)}, id="metadata-64KiB"),
    pytest.param(PostUpdate, "metadata", {"k": "x" * (64 * 1024 - 8)},
                 {"k": "x" * (64 * 1024 - 7)}, id="update-metadata-64KiB"),
    pytest.param(UserCreate, "username", "u" * 32, "u" * 33, id="username-32"),
    pytest.param(CollectiveCreate, "slug", "a" * 64, "a" * 65, id="collective_slug-64"),
]

_REQUIRED: dict[type, dict[str, Any]] = {
    PostFields: {}, PostUpdate: {}, PostCreate: {},
    UserCreate: {"username": "alice"},
    CollectiveCreate: {"slug": "writers", "name": "Writers"},
}


def _make(model: type[pydantic.BaseModel], **fields: Any) -> pydantic.BaseModel:
    return model(**{**_REQUIRED[model], **fields})


@pytest.mark.parametrize(("model", "field", "at_limit", "over_limit"), LIMITS)
def test_limit_accepted_and_limit_plus_one_rejected(model: type, field: str, at_limit: Any,
                                                    over_limit: Any) -> None:
    if field == "metadata":
        assert len(json.dumps(at_limit, separators=(",", ":")).encode()) == 64 * 1024
    else:
        assert len(over_limit) == len(at_limit) + 1
    assert getattr(_make(model, **{field: at_limit}), field) == at_limit
    with pytest.raises(pydantic.ValidationError) as info:
        _make(model, **{field: over_limit})
    assert info.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize("url", [
    "http://example.com/a.png", "https://example.com/a.png", "HTTPS://EXAMPLE.COM/x",
])
def test_thumbnail_url_http_and_https_accepted(url: str) -> None:
    assert PostFields(thumbnail_url=url).thumbnail_url == url


@pytest.mark.parametrize("url", [
    "ftp://example.com/a.png", "javascript:alert(1)", "data:image/png;base64,AAAA",
    "file:///etc/passwd", "example.com/a.png", "http://", "https:// spaced.com",
])
def test_thumbnail_url_other_schemes_rejected(url: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        PostFields(thumbnail_url=url)
    with pytest.raises(pydantic.ValidationError):
        PostUpdate(thumbnail_url=url)


@pytest.mark.parametrize("username", ["abc", "a_b_c", "user123", "___", "x" * 32])
def test_username_pattern_accepts(username: str) -> None:
    assert UserCreate(username=username).username == username


@pytest.mark.parametrize("username", [
    "ab", "x" * 33, "Alice", "al ice", "al-ice", "al.ice", "ålice", "",
])
def test_username_pattern_rejects(username: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        UserCreate(username=username)


@pytest.mark.parametrize("slug", ["a", "writers", "night-owls", "club-2026", "a-b-c"])
def test_collective_slug_pattern_accepts(slug: str) -> None:
    assert CollectiveCreate(slug=slug, name="N").slug == slug


@pytest.mark.parametrize("slug", [
    "", "Writers", "night--owls", "-owls", "owls-", "night owls", "night_owls", "café",
])
def test_collective_slug_pattern_rejects(slug: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        CollectiveCreate(slug=slug, name="N")


FORBIDDEN = ["author_id", "author", "status", "version", "role", "created_at", "updated_at",
             "published_at", "id", "owner_id"]


@pytest.mark.parametrize("field", FORBIDDEN)
@pytest.mark.parametrize("model", [PostCreate, PostUpdate, CollectiveCreate],
                         ids=lambda m: m.__name__)
def test_inputs_reject_fields_nobody_may_set(model: type, field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        _make(model, **{field: "x"})
    if (model, field) == (PostCreate, "id"):
        # A new post may carry a client-made id (a UUID), so a repeated create is
        # recognised; nothing else may name an id.
        assert info.value.errors()[0]["type"] == "uuid_parsing"
    else:
        assert info.value.errors()[0]["type"] == "extra_forbidden"
    assert info.value.errors()[0]["loc"] == (field,)


def test_untitled_draft_is_a_valid_input() -> None:
    post = PostCreate()
    assert post.title == "" and post.content == "" and post.collectives == []


# --- errors --------------------------------------------------------------------------------

ERROR_CASES: list[Any] = [
    pytest.param(errors.ValidationError("title is too long", field="title"), id="validation"),
    pytest.param(errors.PermissionDenied("members cannot post", collective="readers"),
                 id="permission"),
    pytest.param(errors.NotFoundError("no such collective", collective="ghosts"),
                 id="not_found"),
    pytest.param(errors.NetworkError("server unreachable"), id="network"),
    pytest.param(errors.DatabaseError("disk full", details={"path": "/tmp/x"}), id="database"),
    pytest.param(errors.ConflictError("changed elsewhere", current_version=7, field="content"),
                 id="conflict"),
    pytest.param(errors.ValidationError("bad", field="f", collective="c", actions=["fix it"]),
                 id="validation-with-actions"),
]


@pytest.mark.parametrize("original", ERROR_CASES)
def test_error_round_trip(original: errors.Post001Error) -> None:
    body = original.to_dict()
    assert body["category"] == original.category
    assert json.loads(json.dumps(body)) == body  # JSON-safe
    copy = errors.Post001Error.from_dict(json.loads(json.dumps(body)))
    assert type(copy) is type(original)
    assert copy.category == original.category
    assert copy.message == original.message == str(copy)
    assert copy.field == original.field
    assert copy.collective == original.collective
    assert copy.actions == original.actions
    assert copy.details == original.details
    assert copy.to_dict() == body
    if isinstance(original, errors.ConflictError):
        assert isinstance(copy, errors.ConflictError)
        assert copy.current_version == original.current_version == 7


def test_error_to_dict_omits_unset_fields() -> None:
    body = errors.NetworkError("offline", actions=[]).to_dict()
    assert body == {"category": "network", "message": "offline"}


def test_errors_have_distinct_categories_and_no_face_specific_actions() -> None:
    kinds = [errors.ValidationError, errors.PermissionDenied, errors.ConflictError,
             errors.NotFoundError, errors.NetworkError, errors.DatabaseError]
    assert {k.category for k in kinds} == {"validation", "permission", "conflict",
                                          "not_found", "network", "database"}
    for kind in kinds:
        assert issubclass(kind, errors.Post001Error)
        # Hints depend on the face (post001/cli/hints.py, post001/tui/hints.py).
        assert not kind.default_actions


def test_unknown_category_becomes_a_database_error() -> None:
    err = errors.Post001Error.from_dict({"category": "???", "message": "odd"})
    assert isinstance(err, errors.DatabaseError)
    assert err.message == "odd"
