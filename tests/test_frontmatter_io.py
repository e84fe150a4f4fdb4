"""Markdown + YAML front matter, both ways (pure: no store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from post001.core.errors import ValidationError
from post001.core.frontmatter_io import (
    parse_datetime,
    read_post_document,
    render_post_document,
    split_front_matter,
)
from post001.core.models import Post, PostCreate, PostStatus, PostType, Share, ShareStatus

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_post(**overrides: Any) -> Post:
    values: dict[str, Any] = {
        "id": uuid4(), "author": "alice", "title": "Hello", "subtitle": "", "byline": "",
        "content": "Body\n", "post_type": PostType.TEXT, "is_public": True, "seo_title": "",
        "meta_description": "", "thumbnail_url": None, "metadata": {}, "slug": "hello",
        "status": PostStatus.DRAFT, "publish_at": None, "published_at": None,
        "created_at": NOW, "updated_at": NOW, "version": 1, "shares": [],
    }
    values.update(overrides)
    return Post(**values)


def share(slug: str) -> Share:
    return Share(collective_id=uuid4(), collective=slug, collective_name=slug.title(),
                 status=ShareStatus.DRAFT)


def test_plain_markdown_is_all_content() -> None:
    doc = read_post_document("# Title\n\nJust text.\n")
    assert doc.fields == {"content": "# Title\n\nJust text.\n"}
    assert doc.collectives is None
    assert doc.ignored == []


def test_every_key_is_read() -> None:
    doc = read_post_document(
        "---\n"
        "title: Hello\n"
        "subtitle: Sub\n"
        "byline: By me\n"
        "public: false\n"
        "seo_title: SEO\n"
        "meta_description: Meta\n"
        "thumbnail_url: https://example.com/a.png\n"
        "publish_at: 2026-03-01T09:30:00+01:00\n"
        "collectives: [cooking, travel, cooking]\n"
        "layout: post\n"
        "---\n"
        "Body\n"
    )
    assert doc.fields == {
        "content": "Body\n",
        "title": "Hello",
        "subtitle": "Sub",
        "byline": "By me",
        "is_public": False,
        "seo_title": "SEO",
        "meta_description": "Meta",
        "thumbnail_url": "https://example.com/a.png",
        "publish_at": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
    }
    assert doc.collectives == ["cooking", "travel"]  # duplicates are harmless
    assert doc.ignored == ["layout"]
    PostCreate(**doc.fields, collectives=doc.collectives)  # valid input for the store


def test_body_is_kept_byte_for_byte() -> None:
    body = "\n\n  indented\n---\nnot front matter\n\n"
    doc = read_post_document(f"---\ntitle: T\n---\n{body}")
    assert doc.content == body


def test_a_lone_rule_is_not_front_matter() -> None:
    text = "---\nJust a horizontal rule above, no closing line"
    assert split_front_matter(text) == (None, text)


def test_empty_front_matter_and_dots_terminator() -> None:
    assert read_post_document("---\n---\nBody").fields == {"content": "Body"}
    assert read_post_document("---\ntitle: T\n...\nBody").fields["title"] == "T"


def test_collectives_as_a_comma_separated_string() -> None:
    assert read_post_document("---\ncollectives: a, b c\n---\n").collectives == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("front", "field"),
    [
        ("title: [1, 2]", "title"),
        ("public: maybe", "is_public"),
        ("publish_at: next tuesday", "publish_at"),
        ("collectives: 5", "collectives"),
        ("collectives: [5]", "collectives"),
        ("post_type: podcast", "post_type"),
        ("metadata: [1]", "metadata"),
        ("title: 'unterminated", "front_matter"),
        ("- just\n- a list", "front_matter"),
    ],
)
def test_bad_front_matter_names_the_field(front: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        read_post_document(f"---\n{front}\n---\nBody\n")
    assert info.value.field == field
    assert info.value.category == "validation"


def test_parse_datetime() -> None:
    assert parse_datetime("2026-03-01T09:30:00Z") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parse_datetime("2026-03-01T09:30") == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert parse_datetime("") is None


@pytest.mark.parametrize(
    "post",
    [
        make_post(),
        make_post(title="", content=""),
        make_post(
            title="Über: \"quotes\" and # hash",
            subtitle="multi\nline? no: one line",
            byline="Ann",
            content="---\nstarts with a rule\n\n```yaml\na: 1\n```\n",
            post_type=PostType.VIDEO,
            is_public=False,
            seo_title="yes",
            meta_description="123",
            thumbnail_url="https://example.com/x.png",
            metadata={"k": [1, 2, {"n": None}]},
            publish_at=datetime(2030, 1, 1, 12, 0, tzinfo=UTC),
            shares=[share("cooking"), share("weekend-bakers")],
        ),
        make_post(title="yes", subtitle="null", byline="123", content="no trailing newline"),
    ],
)
def test_render_then_read_gives_an_equal_post(post: Post) -> None:
    doc = read_post_document(render_post_document(post))
    again = PostCreate(**doc.fields, collectives=doc.collectives or [])
    assert again.model_dump(exclude={"collectives", "id"}) == post.fields().model_dump()
    assert again.id is None  # an imported file makes a new post
    assert again.collectives == [s.collective for s in post.shares]
    assert doc.ignored == []
