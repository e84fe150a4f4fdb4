"""Reach: the distinct people a post would reach, the author aside (on every SQL backend)."""

from __future__ import annotations

from typing import Any

from post001 import CollectiveCreate, PostCreate, Role


def test_reach_counts_each_member_once_and_not_the_author(open_store: Any) -> None:
    alice, bob, carol = open_store("alice"), open_store("bob"), open_store("carol")
    for slug in ("one", "two", "three"):
        alice.create_collective(CollectiveCreate(slug=slug, name=slug.title()))
        alice.add_member(slug, "bob", Role.MEMBER)
        alice.add_member(slug, "carol", Role.MEMBER)
    bob.create_collective(CollectiveCreate(slug="closed", name="Closed"))
    bob.add_member("closed", "alice", Role.MEMBER)  # alice may not post here
    open_store("dave")
    bob.add_member("closed", "dave", Role.MEMBER)
    post = alice.create_post(PostCreate(title="t", content="c",
                                        collectives=["one", "two", "three", "closed"]))
    plan = alice.preflight(post.id)
    assert sum(p.member_count for p in plan.collectives) == 12
    assert plan.reach == 2  # bob and carol; dave is only where alice cannot post
    alice.set_collectives(post.id, [])
    assert alice.preflight(post.id).reach == 0
    assert carol.me().username == "carol"
