"""Pin the public Python API: adding or removing a name is a decision, not an accident."""

from __future__ import annotations

import inspect
import subprocess
import sys

import post001
from post001 import Store

EXPECTED_EXPORTS = {
    "AuditEvent", "Collective", "CollectiveCreate", "CollectiveUpdate", "ConflictError",
    "DatabaseError", "Member", "Membership", "NetworkError", "NotFoundError",
    "PermissionDenied", "Post", "Post001Error", "PostCreate", "PostStatus", "PostSummary",
    "PostType", "PostUpdate", "Preflight", "PublishResult", "ReviewItem", "Revision", "Role",
    "Share", "ShareStatus", "Store", "User", "ValidationError", "connect",
}

STORE_USE_CASES = {
    "me", "flags", "multi_collective", "limits", "add_user", "list_users",
    "create_collective", "get_collective", "update_collective", "my_collectives", "reach",
    "members",
    "add_member", "set_role", "remove_member", "feed", "create_post", "get_post",
    "list_posts", "update_post", "save_draft", "archive_post", "revisions",
    "restore_revision", "set_collectives", "add_share", "remove_share", "preflight",
    "publish", "unpublish", "publish_due", "pending_reviews", "approve", "reject",
    "resubmit", "audit", "search", "posts_page", "delete_post",
}


def test_exported_names_are_pinned() -> None:
    assert set(post001.__all__) == EXPECTED_EXPORTS
    for name in post001.__all__:
        assert getattr(post001, name) is not None


def test_store_interface_is_pinned() -> None:
    assert set(Store.__abstractmethods__) == STORE_USE_CASES


def test_every_implementation_implements_every_use_case() -> None:
    from post001.core.sql.store import SqlStore

    assert not inspect.isabstract(SqlStore)
    try:
        from post001.core.remote import RemoteStore
    except ImportError:  # pragma: no cover - the remote store is optional at import time
        return
    assert not inspect.isabstract(RemoteStore)


def test_connect_signature() -> None:
    params = inspect.signature(post001.connect).parameters
    assert list(params)[:2] == ["url", "user"]
    assert {"settings", "flags", "clock", "create_user", "token"} <= set(params)


def test_readme_example_runs(tmp_path: object) -> None:
    """The README's ten-line library example, exactly as printed there."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    match = re.search(r"```python\n(.*?)```", readme, re.S)
    assert match, "README.md has a python example"
    code = match.group(1)
    lines = code.splitlines()
    expected = []  # each print's comment (on its line, or the next) says what it prints
    for i, line in enumerate(lines):
        if "print(" in line:
            comment = line if "#" in line else lines[i + 1]
            expected.append(comment.split("#", 1)[1].strip())
    for _ in range(2):  # and the example runs again on the same database
        result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                text=True, cwd=str(tmp_path), timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == expected
