"""sign-in throttling in the database, a system role, revocable tokens

Placeholder: no schema change yet. Reserved so that the work of several branches keeps
one linear history; the branch that owns it fills in upgrade() and downgrade().

Revision ID: 0013_server_defence
Revises: 0012_listing_counts
"""

from __future__ import annotations

import sqlalchemy as sa

revision = "0013_server_defence"
down_revision = "0012_listing_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """What downgrade() would drop, in words (empty: nothing). See docs/operations.md."""
    return []
