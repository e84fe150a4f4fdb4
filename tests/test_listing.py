"""Keyset paging of the writer's listing, stored word counts and deleting drafts.

A contract: run on SQLite and PostgreSQL here, and on the remote store by
tests/server/test_remote_listing.py."""

from __future__ import annotations

from typing import Any

import pytest

from post001 import (
    CollectiveCreate,
    NotFoundError,
    PostCreate,
    PostStatus,
    PostUpdate,
    Role,
    Store,
    ValidationError,
)
from post001.core.models import MAX_PAGE_SIZE

pytestmark = pytest.mark.contract


def _pages(store: Store, limit: int, status: PostStatus | None = None) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = store.posts_page(limit, cursor, status=status)
        pages.append([p.title for p in page.items])
        if page.next_cursor is None:
            return pages
        assert len(page.items) == limit  # only the last page may be short
        cursor = page.next_cursor


def test_pages_cover_every_post_once_newest_first(open_store: Any) -> None:
    alice = open_store("alice")
    for i in range(7):
        alice.create_post(PostCreate(title=f"post {i}"))
    assert _pages(alice, 3) == [["post 6", "post 5", "post 4"], ["post 3", "post 2", "post 1"],
                                ["post 0"]]
    assert _pages(alice, 7) == [[f"post {i}" for i in range(6, -1, -1)]]
    assert [p.title for p in alice.list_posts()] == [f"post {i}" for i in range(6, -1, -1)]
    first = alice.posts_page()  # the default page holds all seven
    assert len(first.items) == 7 and first.next_cursor is None


def test_empty_listing_and_other_writers_posts(open_store: Any) -> None:
    alice, bob = open_store("alice"), open_store("bob")
    assert alice.posts_page().items == [] and alice.posts_page().next_cursor is None
    bob.create_post(PostCreate(title="bob's"))
    assert alice.posts_page().items == []


def test_status_filter_pages(open_store: Any) -> None:
    alice = open_store("alice")
    posts = [alice.create_post(PostCreate(title=f"post {i}", content="x")) for i in range(5)]
    for post in posts[:3]:
        alice.archive_post(post.id)
    assert _pages(alice, 2, PostStatus.ARCHIVED) == [["post 2", "post 1"], ["post 0"]]
    assert _pages(alice, 2, PostStatus.DRAFT) == [["post 4", "post 3"]]


def test_a_save_between_pages_moves_the_post_up_and_repeats_nothing(open_store: Any) -> None:
    alice = open_store("alice")
    posts = [alice.create_post(PostCreate(title=f"post {i}")) for i in range(6)]
    first = alice.posts_page(3)
    assert [p.title for p in first.items] == ["post 5", "post 4", "post 3"]
    old = posts[1]
    alice.save_draft(old.id, PostUpdate(title="post 1 edited"), expected_version=old.version)
    second = alice.posts_page(3, first.next_cursor)
    assert [p.title for p in second.items] == ["post 2", "post 0"]
    assert second.next_cursor is None
    assert alice.posts_page(1).items[0].title == "post 1 edited"


def test_bad_cursor_and_limit_name_the_field(open_store: Any) -> None:
    alice = open_store("alice")
    import base64

    far = base64.urlsafe_b64encode(b"0001-01-01T00:00:00+05:00|" + b"0" * 32).decode()
    for bad in ("nonsense", "!!!", "bm90IGEgY3Vyc29y", "caf\u00e9", far):
        with pytest.raises(ValidationError) as err:
            alice.posts_page(10, bad)
        assert err.value.field == "cursor"
    for limit in (0, -1, MAX_PAGE_SIZE + 1):
        with pytest.raises(ValidationError) as err:
            alice.posts_page(limit)
        assert err.value.field == "limit"


def test_word_counts_are_stored_with_every_save(open_store: Any) -> None:
    alice = open_store("alice")
    post = alice.create_post(PostCreate(title="t", content="one two three"))
    assert alice.posts_page().items[0].word_count == 3
    version = alice.save_draft(post.id, PostUpdate(content="one two  three\nfour five"),
                               expected_version=post.version)
    assert alice.posts_page().items[0].word_count == 5
    version = alice.save_draft(post.id, PostUpdate(title="only the title"),
                               expected_version=version)
    assert alice.list_posts()[0].word_count == 5
    alice.update_post(post.id, PostUpdate(content=""), expected_version=version)
    assert alice.posts_page().items[0].word_count == 0
    older = next(r for r in alice.revisions(post.id) if r.content)
    alice.restore_revision(post.id, older.version)
    assert alice.posts_page().items[0].word_count == len(older.content.split())


def test_feed_and_search_show_stored_word_counts(open_store: Any) -> None:
    alice = open_store("alice")
    alice.create_collective(CollectiveCreate(slug="tech", name="Tech"))
    post = alice.create_post(PostCreate(title="Zebra facts", content="zebras have stripes",
                                        collectives=["tech"]))
    alice.publish(post.id)
    assert [p.word_count for p in alice.feed("tech")] == [3]
    assert [p.word_count for p in alice.search("zebras")] == [3]


def test_delete_a_never_published_draft(open_store: Any) -> None:
    alice, bob = open_store("alice"), open_store("bob")
    alice.create_collective(CollectiveCreate(slug="tech", name="Tech"))
    keep = alice.create_post(PostCreate(title="keep"))
    gone = alice.create_post(PostCreate(title="gone", content="words", collectives=["tech"]))
    alice.save_draft(gone.id, PostUpdate(content="more words"), expected_version=gone.version)
    with pytest.raises(NotFoundError):
        bob.delete_post(gone.id)  # someone else's draft: as if it did not exist
    alice.delete_post(gone.id)
    with pytest.raises(NotFoundError):
        alice.get_post(gone.id)
    assert [p.id for p in alice.list_posts()] == [keep.id]
    assert "post.deleted" in {e.action for e in alice.audit(actor="alice")}
    with pytest.raises(NotFoundError):
        alice.delete_post(gone.id)


def test_posts_readers_may_have_seen_are_archived_not_deleted(open_store: Any) -> None:
    alice, bob = open_store("alice"), open_store("bob")
    alice.create_collective(CollectiveCreate(slug="tech", name="Tech"))
    alice.add_member("tech", "bob", Role.MEMBER)
    post = alice.create_post(PostCreate(title="out there", content="words",
                                        collectives=["tech"]))
    alice.publish(post.id)
    with pytest.raises(ValidationError, match="archive it instead"):
        alice.delete_post(post.id)
    alice.unpublish(post.id)  # back to draft, but it was seen
    with pytest.raises(ValidationError, match="archive it instead"):
        alice.delete_post(post.id)
    assert alice.get_post(post.id).title == "out there"
    assert bob.list_posts() == []
