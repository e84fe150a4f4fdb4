"""The demo's sample data tells a consistent story."""

from __future__ import annotations

from pathlib import Path

import post001
from post001.core.models import PostStatus, ShareStatus
from post001.tui.demo import WRITER, build_demo_database


def test_every_published_demo_post_is_out_somewhere(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    build_demo_database(url)
    with post001.connect(url, user=WRITER) as ada:
        posts = [ada.get_post(p.id) for p in ada.list_posts()]
    assert {p.status for p in posts} == set(PostStatus)
    for post in posts:
        statuses = {s.status for s in post.shares}
        if post.status is PostStatus.PUBLISHED and post.shares:
            assert statuses - {ShareStatus.REJECTED}, post.title  # not only rejections
        if post.status in (PostStatus.DRAFT, PostStatus.SCHEDULED):
            assert statuses <= {ShareStatus.DRAFT}, post.title  # nothing out before it is
    rejected = [p for p in posts if ShareStatus.REJECTED in {s.status for s in p.shares}]
    assert [s.status for s in rejected[0].shares if s.collective == "ada-notes"] == [
        ShareStatus.PUBLISHED]
