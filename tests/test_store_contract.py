"""The store contract: every backend (SQLite, PostgreSQL, the remote API) passes these.

Each test builds its own little world through the public Store interface only, acting
as several users, and checks docs/product.md's rules and the original system's bugs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from post001 import (
    CollectiveCreate,
    CollectiveUpdate,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    PostCreate,
    PostStatus,
    PostUpdate,
    Role,
    ShareStatus,
    Store,
    ValidationError,
)
from post001.core.models import Outcome

pytestmark = pytest.mark.contract


@pytest.fixture
def world(open_store: Any) -> dict[str, Store]:
    """alice owns 'tech' (open) and 'poetry' (requires approval); bob is editor in tech;
    carol is a contributor in tech and author in poetry; dave is a plain member of tech;
    erin belongs to nothing."""
    stores = {name: open_store(name) for name in ("alice", "bob", "carol", "dave", "erin")}
    alice = stores["alice"]
    alice.create_collective(CollectiveCreate(slug="tech", name="Tech Writers"))
    alice.create_collective(CollectiveCreate(slug="poetry", name="Poetry Circle",
                                             require_approval=True))
    alice.add_member("tech", "bob", Role.EDITOR)
    alice.add_member("tech", "carol", Role.CONTRIBUTOR)
    alice.add_member("tech", "dave", Role.MEMBER)
    alice.add_member("poetry", "carol", Role.AUTHOR)
    return stores


def _draft(store: Store, title: str = "A title", content: str = "Some words.",
           to: list[str] | None = None, **fields: Any) -> Any:
    return store.create_post(PostCreate(title=title, content=content,
                                        collectives=to or [], **fields))


def _status(post: Any) -> dict[str, ShareStatus]:
    return {s.collective: s.status for s in post.shares}


# --- drafts -------------------------------------------------------------------------------


def test_untitled_draft_is_created_and_saved(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = alice.create_post()
    assert post.title == "" and post.status is PostStatus.DRAFT and post.version == 1
    assert post.shares == [] and post.author == "alice"
    version = alice.save_draft(post.id, PostUpdate(content="first words"), expected_version=1)
    assert version == 2
    again = alice.get_post(post.id)
    assert again.content == "first words" and again.version == 2


def test_every_write_bumps_the_version_and_stale_writes_conflict(
        world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice)
    saved = alice.update_post(post.id, PostUpdate(title="New"), expected_version=1)
    assert saved.version == 2 and saved.title == "New"
    with pytest.raises(ConflictError) as caught:
        alice.save_draft(post.id, PostUpdate(content="stale text"), expected_version=1)
    assert caught.value.current_version == 2
    with pytest.raises(ConflictError):
        alice.update_post(post.id, PostUpdate(content="stale text"), expected_version=1)
    assert alice.get_post(post.id).content == "Some words."  # nothing overwritten


def test_two_writers_on_one_version_exactly_one_wins(open_store: Any) -> None:
    first, second = open_store("alice"), open_store("alice")
    post = _draft(first)
    first.save_draft(post.id, PostUpdate(content="from laptop"), expected_version=1)
    with pytest.raises(ConflictError):
        second.save_draft(post.id, PostUpdate(content="from desktop"), expected_version=1)
    assert second.get_post(post.id).content == "from laptop"


def test_validation_names_field_limit_and_size_and_keeps_the_draft(
        world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, content="keep me")
    with pytest.raises(ValidationError) as caught:
        alice.save_draft(post.id, PostUpdate.model_construct(title="x" * 201),
                         expected_version=1)
    err = caught.value
    assert err.field == "title" and "200" in err.message and "201" in err.message
    with pytest.raises(ValidationError) as caught:
        alice.update_post(post.id, PostUpdate.model_construct(thumbnail_url="ftp://x/y.png"),
                          expected_version=1)
    assert caught.value.field == "thumbnail_url"
    stored = alice.get_post(post.id)
    assert stored.content == "keep me" and stored.version == 1


def test_fields_a_writer_may_not_set_are_never_applied(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice)
    for field, value in (("status", "published"), ("version", 99),
                         ("author_id", str(post.id)), ("created_at", "2001-01-01T00:00:00Z")):
        with pytest.raises(Exception) as caught:
            PostUpdate.model_validate({field: value})
        assert field in str(caught.value)
        current = alice.get_post(post.id)
        try:  # smuggled past the model: refused or ignored, never applied
            alice.update_post(post.id, PostUpdate.model_construct(**{field: value}),
                              expected_version=current.version)
        except ValidationError as err:
            assert err.field == field
    after = alice.get_post(post.id)
    assert after.status is PostStatus.DRAFT and after.author == "alice"
    assert after.created_at == post.created_at and after.version < 99


def test_a_client_made_id_creates_the_post_exactly_once(world: dict[str, Store]) -> None:
    """A create repeated after a lost answer returns the same post, as it is now."""
    from uuid import uuid4

    alice = world["alice"]
    post_id = uuid4()
    first = alice.create_post(PostCreate(id=post_id, title="Once", collectives=["tech"]))
    assert first.id == post_id and first.version == 1
    alice.save_draft(post_id, PostUpdate(content="later words"), expected_version=1)
    again = alice.create_post(PostCreate(id=post_id, title="Once", collectives=["tech"]))
    assert again.id == post_id and again.version == 2 and again.content == "later words"
    assert [p.id for p in alice.list_posts()].count(post_id) == 1
    assert [s.collective for s in again.shares] == ["tech"]
    created = [e for e in alice.audit(post_id=post_id) if e.action == "post.created"]
    assert len(created) == 1
    with pytest.raises(ValidationError) as caught:  # someone else's id is not theirs
        world["bob"].create_post(PostCreate(id=post_id, title="Mine?"))
    assert caught.value.field == "id"


def test_a_repeated_save_id_answers_with_the_version_it_made(world: dict[str, Store]) -> None:
    """The answer to an applied save was lost; its repeat (now stale) is recognised."""
    from uuid import uuid4

    alice = world["alice"]
    post = _draft(alice, content="v1")
    save_id = uuid4()
    assert alice.save_draft(post.id, PostUpdate(content="v2"), expected_version=1,
                            save_id=save_id) == 2
    assert alice.save_draft(post.id, PostUpdate(content="v2"), expected_version=1,
                            save_id=save_id) == 2  # not a ConflictError with itself
    assert alice.get_post(post.id).version == 2
    update_id = uuid4()
    updated = alice.update_post(post.id, PostUpdate(title="T3"), expected_version=2,
                                save_id=update_id)
    repeat = alice.update_post(post.id, PostUpdate(title="T3"), expected_version=2,
                               save_id=update_id)
    assert updated.version == repeat.version == 3 and repeat.title == "T3"
    # A different save on the same stale version is still a real conflict ...
    with pytest.raises(ConflictError):
        alice.save_draft(post.id, PostUpdate(content="other"), expected_version=1,
                         save_id=uuid4())
    # ... and so is the old save id once another save wrote after it.
    alice.save_draft(post.id, PostUpdate(content="v4"), expected_version=3)
    with pytest.raises(ConflictError):
        alice.save_draft(post.id, PostUpdate(content="v2"), expected_version=1,
                         save_id=save_id)
    assert alice.get_post(post.id).content == "v4"


def test_only_the_author_edits_and_others_cannot_even_see_a_draft(
        world: dict[str, Store]) -> None:
    post = _draft(world["alice"], to=["tech"])
    bob = world["bob"]
    with pytest.raises(NotFoundError):
        bob.get_post(post.id)
    with pytest.raises(NotFoundError):
        bob.save_draft(post.id, PostUpdate(content="hijack"), expected_version=1)
    world["alice"].publish(post.id)
    with pytest.raises(PermissionDenied):  # visible now, still not bob's to edit
        bob.update_post(post.id, PostUpdate(content="hijack"), expected_version=2)
    with pytest.raises(PermissionDenied):
        bob.unpublish(post.id)
    assert world["alice"].get_post(post.id).content == "Some words."


def test_revisions_are_bounded_snapshots_and_restore_keeps_the_replaced_text(
        world: dict[str, Store], clock: Any) -> None:
    alice = world["alice"]
    post = _draft(alice, content="v1")
    version = 1
    for i in range(2, 200):  # ~3 minutes of saving every second
        clock.advance(seconds=1)
        version = alice.save_draft(post.id, PostUpdate(content=f"v{i}"),
                                   expected_version=version)
    history = alice.revisions(post.id)
    assert history[0].version == version and history[0].content == "v199"
    assert history[-1].version == 1 and history[-1].content == "v1"
    assert 3 <= len(history) <= 6  # one snapshot a minute, not one per save
    older = history[1]
    clock.advance(seconds=1)
    restored = alice.restore_revision(post.id, older.version)
    assert restored.content == older.content and restored.version == version + 1
    contents = [r.content for r in alice.revisions(post.id)]
    assert "v199" in contents  # the text that restore replaced is still there


def test_archive(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech"])
    alice.publish(post.id)
    archived = alice.archive_post(post.id)
    assert archived.status is PostStatus.ARCHIVED
    with pytest.raises(NotFoundError):
        world["bob"].get_post(post.id)
    assert next(e.action for e in alice.audit(post_id=post.id)) == "post.archived"


# --- choosing collectives -----------------------------------------------------------------


def test_selection_changes_only_the_difference(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech"])
    post = alice.set_collectives(post.id, ["tech", "poetry", "tech"])  # duplicate: harmless
    assert [s.collective for s in post.shares] == ["tech", "poetry"]
    assert set(_status(post).values()) == {ShareStatus.DRAFT}  # never published early
    post = alice.set_collectives(post.id, ["poetry"])
    assert [s.collective for s in post.shares] == ["poetry"]
    actions = [(e.action, e.collective) for e in alice.audit(post_id=post.id)]
    assert actions.count(("share.added", "tech")) == 1  # not re-added on every save
    assert actions.count(("share.added", "poetry")) == 1
    assert actions.count(("share.removed", "tech")) == 1


def test_unknown_and_foreign_collectives_look_the_same(world: dict[str, Store]) -> None:
    erin = world["erin"]
    post = _draft(erin)
    with pytest.raises(NotFoundError) as unknown:
        erin.set_collectives(post.id, ["no-such-thing"])
    with pytest.raises(NotFoundError) as foreign:
        erin.set_collectives(post.id, ["poetry"])
    assert unknown.value.collective == "no-such-thing" and foreign.value.collective == "poetry"
    assert unknown.value.message.replace("no-such-thing", "X") == \
        foreign.value.message.replace("poetry", "X")
    with pytest.raises(NotFoundError):
        erin.get_collective("poetry")


def test_my_collectives_search_filter_sort(world: dict[str, Store]) -> None:
    carol = world["carol"]
    world["carol"].create_collective(CollectiveCreate(slug="zines", name="Zine Makers"))
    everything = carol.my_collectives()
    assert [(m.slug, m.role) for m in everything] == [
        ("zines", Role.OWNER), ("poetry", Role.AUTHOR), ("tech", Role.CONTRIBUTOR)]
    tech = next(m for m in everything if m.slug == "tech")
    assert tech.member_count == 4 and tech.can_post and tech.name == "Tech Writers"
    assert [m.slug for m in carol.my_collectives("WRIT")] == ["tech"]  # name, any case
    assert [m.slug for m in carol.my_collectives("poe")] == ["poetry"]  # slug
    assert [m.slug for m in carol.my_collectives(sort="name")] == ["poetry", "tech", "zines"]
    assert next(m.slug for m in carol.my_collectives(sort="members")) == "tech"
    assert [m.slug for m in carol.my_collectives(limit=1)] == ["zines"]
    assert carol.my_collectives("%") == [] and carol.my_collectives("_") == []
    dave = world["dave"]
    only = dave.my_collectives()
    assert len(only) == 1 and not only[0].can_post and "member" in (only[0].reason or "")
    assert dave.my_collectives(postable_only=True) == []


def test_reach_counts_distinct_people_where_the_writer_may_post(
        world: dict[str, Store]) -> None:
    carol = world["carol"]
    # tech: alice, bob, dave besides carol; poetry: alice again. Three people, not four.
    assert carol.reach(["tech", "poetry"]) == 3
    assert carol.reach(["poetry"]) == 1
    assert carol.reach([]) == 0
    # dave is a plain member of tech (may not post there); erin is in nothing; a slug
    # nobody has reveals nothing either.
    assert world["dave"].reach(["tech"]) == 0
    assert world["erin"].reach(["tech", "poetry"]) == 0
    assert carol.reach(["tech", "no-such-collective"]) == 3
    # The preflight of a post to the same collectives tells the same number.
    assert carol.preflight(_draft(carol, to=["tech", "poetry"]).id).reach == 3


def test_reach_refuses_more_collectives_than_a_post_may_have(
        world: dict[str, Store]) -> None:
    limit, _ = world["alice"].limits()
    with pytest.raises(ValidationError) as refused:
        world["alice"].reach([f"c{n}" for n in range(limit + 1)])
    assert refused.value.field == "collectives"
    assert str(limit) in str(refused.value)


# --- publishing ---------------------------------------------------------------------------


def test_preflight_mixes_publish_review_and_not_allowed(world: dict[str, Store]) -> None:
    carol = world["carol"]
    carol.create_collective(CollectiveCreate(slug="zines", name="Zine Makers"))
    post = _draft(carol, to=["zines", "tech", "poetry"])
    plan = carol.preflight(post.id)
    outcomes = {c.collective: c.outcome for c in plan.collectives}
    assert outcomes == {"zines": Outcome.PUBLISH, "tech": Outcome.REVIEW,
                        "poetry": Outcome.REVIEW}
    # Distinct people besides carol: alice and bob and dave (tech), alice (poetry).
    assert plan.can_publish and plan.reach == 3
    assert {w.collective for w in plan.warnings if w.code == "needs_approval"} == \
        {"tech", "poetry"}
    untitled = carol.create_post(PostCreate(content="", collectives=["zines"]))
    blocked = carol.preflight(untitled.id)
    assert not blocked.can_publish
    assert {e.code for e in blocked.errors} == {"no_title", "no_content"}


def test_publish_sets_each_share_by_role_and_settings(world: dict[str, Store]) -> None:
    carol = world["carol"]
    post = _draft(carol, to=["tech", "poetry"], is_public=False)
    result = carol.publish(post.id)
    assert not result.scheduled and result.post.status is PostStatus.PUBLISHED
    assert {o.collective: o.status for o in result.outcomes} == {
        "tech": ShareStatus.PENDING_APPROVAL, "poetry": ShareStatus.PENDING_APPROVAL}
    assert result.post.is_public is False  # publishing never forces a post public
    alice = world["alice"]
    own = _draft(alice, to=["tech", "poetry"])
    assert _status(alice.publish(own.id).post) == {
        "tech": ShareStatus.PUBLISHED, "poetry": ShareStatus.PUBLISHED}


def test_publish_is_all_or_nothing_and_names_every_refusal(world: dict[str, Store]) -> None:
    dave = world["dave"]
    dave.create_collective(CollectiveCreate(slug="daves", name="Dave's"))
    post = _draft(dave, to=["daves", "tech"])
    before = {e.id for e in dave.audit(post_id=post.id)}
    with pytest.raises(PermissionDenied) as caught:
        dave.publish(post.id)
    assert caught.value.collective == "tech" and "tech" in caught.value.message
    assert caught.value.details["not_allowed"] == ["tech"]
    empty = dave.create_post(PostCreate(title="t", collectives=["tech"]))
    with pytest.raises(PermissionDenied) as caught:  # no body either: still names tech
        dave.publish(empty.id)
    assert caught.value.collective == "tech" and "body" in caught.value.message
    after = dave.get_post(post.id)
    assert after.status is PostStatus.DRAFT and after.version == 1
    assert set(_status(after).values()) == {ShareStatus.DRAFT}
    # Nothing of the publish was recorded; only the refusal itself (for `post001 stats`).
    added = [e for e in dave.audit(post_id=post.id) if e.id not in before]
    assert [(e.action, e.actor) for e in added] == [("post.publish_refused", "dave")]
    assert {"code": "not_allowed", "collective": "tech"} in added[0].new["errors"]


def test_publish_refuses_an_untitled_post(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = alice.create_post(PostCreate(content="body", collectives=["tech"]))
    with pytest.raises(ValidationError) as caught:
        alice.publish(post.id)
    assert caught.value.field == "title"
    assert alice.get_post(post.id).status is PostStatus.DRAFT


def test_idempotency_key_returns_the_first_result(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech", "poetry"])
    first = alice.publish(post.id, idempotency_key="k-1")
    again = alice.publish(post.id, idempotency_key="k-1")
    assert again.replayed and not first.replayed
    assert again.post.version == first.post.version
    assert [o.model_dump() for o in again.outcomes] == [o.model_dump() for o in first.outcomes]
    published = [e for e in alice.audit(post_id=post.id) if e.action == "post.published"]
    assert len(published) == 1
    other = _draft(alice, title="Other")
    with pytest.raises(ValidationError) as caught:
        alice.publish(other.id, idempotency_key="k-1")
    assert caught.value.field == "idempotency_key"


def test_scheduled_posts_really_go_out_once(world: dict[str, Store], clock: Any) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech"], publish_at=clock() + timedelta(hours=1))
    result = alice.publish(post.id)
    assert result.scheduled and result.post.status is PostStatus.SCHEDULED
    assert _status(result.post) == {"tech": ShareStatus.DRAFT}
    assert alice.publish_due(clock() + timedelta(minutes=59)) == []
    with pytest.raises(NotFoundError):
        world["bob"].get_post(post.id)
    due = world["erin"].publish_due(clock() + timedelta(hours=1, seconds=1))
    assert due == [post.id]
    assert world["erin"].publish_due(clock() + timedelta(hours=2)) == []  # once
    out = alice.get_post(post.id)
    assert out.status is PostStatus.PUBLISHED and _status(out) == {"tech": ShareStatus.PUBLISHED}
    event = next(e for e in alice.audit(post_id=post.id) if e.action == "post.published")
    assert event.actor == "alice"  # the author, not whoever ran the scheduler


def test_a_scheduled_post_can_be_moved_but_not_left_without_a_time(
        world: dict[str, Store], clock: Any) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech"], publish_at=clock() + timedelta(hours=1))
    version = alice.publish(post.id).post.version
    with pytest.raises(ValidationError) as caught:
        alice.save_draft(post.id, PostUpdate(publish_at=None), expected_version=version)
    assert caught.value.field == "publish_at"
    version = alice.save_draft(post.id, PostUpdate(publish_at=clock() + timedelta(hours=3)),
                               expected_version=version)
    assert alice.publish_due(clock() + timedelta(hours=2)) == []
    assert alice.publish_due(clock() + timedelta(hours=4)) == [post.id]


def test_unpublish_returns_post_and_shares_to_draft(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech", "poetry"])
    alice.publish(post.id)
    out = alice.unpublish(post.id)
    assert out.status is PostStatus.DRAFT
    assert set(_status(out).values()) == {ShareStatus.DRAFT}
    assert world["bob"].feed("tech") == []


def test_editing_a_published_post_updates_it_everywhere(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech", "poetry"])
    version = alice.publish(post.id).post.version
    version = alice.save_draft(post.id, PostUpdate(content="Corrected words."),
                               expected_version=version)
    assert [p.id for p in world["bob"].feed("tech")] == [post.id]
    assert world["bob"].get_post(post.id).content == "Corrected words."
    assert "post.edited" in [e.action for e in alice.audit(post_id=post.id)]


def test_add_and_remove_collectives_after_publishing(world: dict[str, Store]) -> None:
    carol = world["carol"]
    post = _draft(carol, to=["poetry"])
    carol.publish(post.id)
    out = carol.add_share(post.id, "tech")
    assert _status(out)["tech"] is ShareStatus.PENDING_APPROVAL  # the rules, not "draft"
    assert _status(carol.add_share(post.id, "tech")) == _status(out)  # twice: harmless
    out = carol.remove_share(post.id, "tech")
    assert out is not None and "tech" not in _status(out)
    dave = world["dave"]
    dave.create_collective(CollectiveCreate(slug="daves", name="Dave's"))
    dpost = _draft(dave, to=["daves"])
    dave.publish(dpost.id)
    with pytest.raises(PermissionDenied) as caught:
        dave.add_share(dpost.id, "tech")
    assert caught.value.collective == "tech"


def test_moderators_may_remove_a_share_members_may_not(world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech", "poetry"])
    alice.publish(post.id)
    with pytest.raises((PermissionDenied, NotFoundError)):
        world["dave"].remove_share(post.id, "tech")
    world["bob"].remove_share(post.id, "tech")
    assert "tech" not in _status(alice.get_post(post.id))
    removal = next(e for e in alice.audit(post_id=post.id) if e.action == "share.removed")
    assert removal.actor == "bob" and removal.collective == "tech"


# --- moderation ---------------------------------------------------------------------------


def test_review_approve_reject_resubmit(world: dict[str, Store]) -> None:
    carol, bob, alice = world["carol"], world["bob"], world["alice"]
    post = _draft(carol, to=["tech", "poetry"])
    carol.publish(post.id)
    queue = bob.pending_reviews()
    assert [(r.post_id, r.collective) for r in queue] == [(post.id, "tech")]
    assert queue[0].author == "carol"
    with pytest.raises(PermissionDenied):
        world["dave"].pending_reviews("tech")
    with pytest.raises(PermissionDenied):
        carol.approve(post.id, "tech")
    bob.approve(post.id, "tech")
    with pytest.raises(ValidationError) as caught:
        alice.reject(post.id, "poetry", "   ")
    assert caught.value.field == "reason"
    alice.reject(post.id, "poetry", "Please add a stanza break.")
    mine = {s.collective: s for s in carol.get_post(post.id).shares}
    assert mine["tech"].status is ShareStatus.PUBLISHED and mine["tech"].decided_by == "bob"
    assert mine["poetry"].status is ShareStatus.REJECTED
    assert mine["poetry"].rejection_reason == "Please add a stanza break."
    with pytest.raises(ValidationError):
        alice.approve(post.id, "poetry")  # not pending any more
    out = carol.resubmit(post.id, "poetry")
    assert _status(out)["poetry"] is ShareStatus.PENDING_APPROVAL
    actions = [(e.actor, e.action) for e in carol.audit(post_id=post.id)]
    assert ("bob", "share.approved") in actions and ("alice", "share.rejected") in actions
    assert ("carol", "share.resubmitted") in actions


# --- reading ------------------------------------------------------------------------------


def test_read_rules_for_public_private_pending(world: dict[str, Store]) -> None:
    alice, dave, erin, bob = world["alice"], world["dave"], world["erin"], world["bob"]
    public = _draft(alice, title="Public one", to=["tech"])
    private = _draft(alice, title="Private one", to=["tech"], is_public=False)
    alice.publish(public.id)
    alice.publish(private.id)
    assert erin.get_post(public.id).title == "Public one"
    assert erin.get_post(public.id).shares == []  # no hint of which collectives exist
    assert [s.collective for s in dave.get_post(public.id).shares] == ["tech"]
    with pytest.raises(NotFoundError):
        erin.get_post(private.id)
    assert dave.get_post(private.id).title == "Private one"
    carol = world["carol"]
    pending = _draft(carol, title="Pending", to=["tech"])
    carol.publish(pending.id)
    assert dave.get_post(pending.id).shares == []  # a plain member sees no pending share
    assert _status(bob.get_post(pending.id)) == {"tech": ShareStatus.PENDING_APPROVAL}


def test_feeds_read_shares_so_one_post_appears_in_every_collective(
        world: dict[str, Store]) -> None:
    alice, carol = world["alice"], world["carol"]
    post = _draft(alice, to=["tech", "poetry"])
    alice.publish(post.id)
    assert [p.id for p in carol.feed("tech")] == [post.id]
    assert [p.id for p in carol.feed("poetry")] == [post.id]
    with pytest.raises(NotFoundError):
        world["erin"].feed("tech")


def test_search_finds_only_what_the_reader_may_read(world: dict[str, Store]) -> None:
    alice, erin, dave = world["alice"], world["erin"], world["dave"]
    pub = _draft(alice, title="Gardening notes", content="tomatoes and basil", to=["tech"])
    priv = _draft(alice, title="Secret garden", content="tomatoes hidden", to=["tech"],
                  is_public=False)
    _draft(alice, title="Unpublished tomatoes", content="draft tomatoes")
    alice.publish(pub.id)
    alice.publish(priv.id)
    assert {p.id for p in erin.search("tomatoes")} == {pub.id}
    assert {p.id for p in dave.search("tomatoes")} == {pub.id, priv.id}
    assert {p.id for p in alice.search("TOMATOES")} == {pub.id, priv.id}
    for nasty in ('"', "AND OR NOT", "tom*", "(", "-", "'; drop table posts; --", ""):
        assert isinstance(erin.search(nasty), list)
    # The list filter and get_post agree for every reader.
    for reader in (erin, dave):
        for found in reader.search("tomatoes"):
            assert reader.get_post(found.id).id == found.id


# --- audit --------------------------------------------------------------------------------


def test_audit_credits_the_actor_and_filters_by_reader(world: dict[str, Store]) -> None:
    alice, bob, carol, erin = world["alice"], world["bob"], world["carol"], world["erin"]
    post = _draft(carol, to=["tech"])
    carol.publish(post.id)
    bob.approve(post.id, "tech")
    approved = [e for e in carol.audit(post_id=post.id) if e.action == "share.approved"]
    assert [e.actor for e in approved] == ["bob"]
    assert approved[0].collective == "tech" and approved[0].new == {"status": "published"}
    assert erin.audit(post_id=post.id) == []
    assert any(e.action == "share.approved" for e in alice.audit(collective="tech"))
    assert world["dave"].audit(collective="tech") == []  # members do not read the log
    assert {e.actor for e in alice.audit(actor="bob")} == {"bob"}
    with pytest.raises(NotFoundError):
        erin.audit(collective="tech")


# --- members ------------------------------------------------------------------------------


def test_member_management_rules(world: dict[str, Store]) -> None:
    alice, bob = world["alice"], world["bob"]
    with pytest.raises(PermissionDenied):
        bob.add_member("tech", "erin", Role.AUTHOR)  # editors do not manage members
    alice.set_role("tech", "bob", Role.ADMIN)
    bob.add_member("tech", "erin", Role.AUTHOR)
    with pytest.raises(PermissionDenied):
        bob.set_role("tech", "erin", Role.ADMIN)  # only the owner makes admins
    with pytest.raises(PermissionDenied):
        bob.remove_member("tech", "alice")  # nobody removes the owner
    with pytest.raises(ValidationError):
        alice.add_member("tech", "erin", Role.MEMBER)  # already a member
    world["erin"].remove_member("tech", "erin")  # anyone may leave
    assert "erin" not in [m.username for m in alice.members("tech")]
    alice.set_role("tech", "bob", Role.OWNER)  # transfer
    roles = {m.username: m.role for m in alice.members("tech")}
    assert roles["bob"] is Role.OWNER and roles["alice"] is Role.ADMIN
    assert list(roles.values()).count(Role.OWNER) == 1
    assert alice.get_collective("tech").owner == "bob"
    actions = [e.action for e in bob.audit(collective="tech")]
    assert {"member.added", "member.role_changed", "member.removed"} <= set(actions)


def test_settings_need_owner_or_admin_and_are_audited(world: dict[str, Store]) -> None:
    alice, bob = world["alice"], world["bob"]
    with pytest.raises(PermissionDenied):
        bob.update_collective("tech", CollectiveUpdate(require_approval=True))
    out = alice.update_collective("tech", CollectiveUpdate(require_approval=True,
                                                           description="We write."))
    assert out.require_approval and out.description == "We write."
    event = alice.audit(collective="tech")[0]
    assert event.action == "collective.settings_changed" and event.actor == "alice"
    assert event.old == {"require_approval": False, "description": ""}


def test_losing_a_role_keeps_published_shares_but_stops_new_ones(
        world: dict[str, Store]) -> None:
    alice, bob = world["alice"], world["bob"]
    post = _draft(bob, to=["tech"])
    bob.publish(post.id)
    alice.set_role("tech", "bob", Role.MEMBER)
    assert _status(bob.get_post(post.id)) == {"tech": ShareStatus.PUBLISHED}
    newer = _draft(bob, to=["tech"])
    with pytest.raises(PermissionDenied):
        bob.publish(newer.id)


def test_collective_slug_and_username_are_validated(world: dict[str, Store]) -> None:
    alice = world["alice"]
    with pytest.raises(ValidationError) as caught:
        alice.create_collective(CollectiveCreate.model_construct(slug="Bad Slug", name="x"))
    assert caught.value.field == "slug"
    with pytest.raises(ValidationError) as caught:
        alice.create_collective(CollectiveCreate(slug="tech", name="Again"))
    assert caught.value.field == "slug"


# --- found in review ----------------------------------------------------------------------


def test_moderators_read_what_they_review_and_nothing_once_it_is_withdrawn(
        world: dict[str, Store]) -> None:
    carol, bob = world["carol"], world["bob"]
    post = _draft(carol, title="Private", to=["tech"], is_public=False)
    carol.publish(post.id)
    assert bob.get_post(post.id).title == "Private"  # bob must read it to decide
    with pytest.raises(NotFoundError):
        world["dave"].get_post(post.id)  # a plain member may not, while it waits
    carol.archive_post(post.id)
    assert bob.pending_reviews() == []
    with pytest.raises(NotFoundError):
        bob.approve(post.id, "tech")
    with pytest.raises(NotFoundError):
        bob.get_post(post.id)


def test_nobody_but_the_author_touches_or_detects_a_draft_selection(
        world: dict[str, Store]) -> None:
    bob, alice = world["bob"], world["alice"]
    post = _draft(bob, to=["tech"])  # a draft: its selection is bob's business
    with pytest.raises(NotFoundError) as hidden:
        alice.remove_share(post.id, "tech")  # alice owns tech, yet cannot see it
    with pytest.raises(NotFoundError) as absent:
        alice.remove_share(_draft(bob, title="Other").id, "tech")
    assert hidden.value.message.split(" shared")[1] == absent.value.message.split(" shared")[1]
    assert _status(bob.get_post(post.id)) == {"tech": ShareStatus.DRAFT}


def test_republishing_a_live_post_with_a_future_time_keeps_it_live(
        world: dict[str, Store], clock: Any) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech"])
    version = alice.publish(post.id).post.version
    alice.save_draft(post.id, PostUpdate(publish_at=clock() + timedelta(days=1)),
                     expected_version=version)
    again = alice.publish(post.id)
    assert not again.scheduled and again.post.status is PostStatus.PUBLISHED
    assert [p.id for p in world["bob"].feed("tech")] == [post.id]


def test_values_no_database_can_store_are_refused_naming_the_field(
        world: dict[str, Store], clock: Any) -> None:
    from datetime import datetime, timezone

    alice = world["alice"]
    post = _draft(alice)
    with pytest.raises(ValidationError) as caught:
        alice.save_draft(post.id, PostUpdate.model_construct(title="a\x00b"),
                         expected_version=1)
    assert caught.value.field == "title"
    far = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with pytest.raises(ValidationError) as caught:
        alice.save_draft(post.id, PostUpdate.model_construct(publish_at=far),
                         expected_version=1)
    assert caught.value.field == "publish_at"
    assert alice.get_post(post.id).version == 1


def test_publishing_a_live_post_again_changes_nothing_and_says_so(
        world: dict[str, Store]) -> None:
    alice = world["alice"]
    post = _draft(alice, to=["tech"])
    first = alice.publish(post.id)
    assert first.changed and first.post.version == post.version + 1
    again = alice.publish(post.id)
    keyed = alice.publish(post.id, idempotency_key="a-new-key")
    assert not again.changed and not keyed.changed and not keyed.replayed
    assert again.post.version == keyed.post.version == first.post.version
    assert alice.get_post(post.id).version == first.post.version
    assert _status(again.post) == {"tech": ShareStatus.PUBLISHED}
    events = [e.action for e in alice.audit(post_id=post.id)]
    assert events.count("post.published") == 1


def test_metadata_too_deep_is_refused_at_every_depth_and_nothing_is_written(
        world: dict[str, Store]) -> None:
    import math

    alice = world["alice"]
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(500):
        node["a"] = {}
        node = node["a"]
    buried_nan: dict[str, Any] = {"x": [{"y": {"z": [1, 2, math.nan]}}]}
    for bad in (deep, buried_nan, {"k": ["ok", {"deeper": "\ud800"}]}):
        with pytest.raises(ValidationError) as caught:
            alice.create_post(PostCreate.model_construct(title="Deep", metadata=bad,
                                                         collectives=[]))
        assert caught.value.field == "metadata"
    assert [p.title for p in alice.list_posts()] == []
    post = _draft(alice, metadata={"fine": {"nested": [1, 2.5, "three"]}})
    with pytest.raises(ValidationError) as caught:
        alice.save_draft(post.id, PostUpdate.model_construct(metadata=deep),
                         expected_version=post.version)
    assert caught.value.field == "metadata" and "32" in caught.value.message
    assert alice.get_post(post.id).metadata == {"fine": {"nested": [1, 2.5, "three"]}}


def test_managers_do_not_see_other_authors_draft_selections_in_the_audit(
        world: dict[str, Store]) -> None:
    alice, carol = world["alice"], world["carol"]
    draft = _draft(carol, to=["tech"])
    carol.set_collectives(draft.id, [])
    actions = [(e.action, e.post_id) for e in alice.audit(collective="tech")]
    assert ("share.added", draft.id) not in actions
    assert ("share.removed", draft.id) not in actions
    assert ("share.added", draft.id) in [(e.action, e.post_id) for e in carol.audit()]
    published = _draft(carol, title="Out", to=["tech"])
    carol.publish(published.id)
    assert ("share.status_changed", published.id) in [
        (e.action, e.post_id) for e in alice.audit(collective="tech")]
