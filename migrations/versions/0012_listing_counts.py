"""stored word counts and keyset listing

Placeholder: no schema change yet. Reserved so that the work of several branches keeps
one linear history; the branch that owns it fills in upgrade() and downgrade().

Revision ID: 0012_listing_counts
Revises: 0011_save_counts
"""

from __future__ import annotations

import sqlalchemy as sa

revision = "0012_listing_counts"
down_revision = "0011_save_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """What downgrade() would drop, in words (empty: nothing). See docs/operations.md."""
    return []
