"""client-made ids and save ids: retries after lost responses are harmless

Placeholder: no schema change yet. Reserved so that the work of several branches keeps
one linear history; the branch that owns it fills in upgrade() and downgrade().

Revision ID: 0009_client_writes
Revises: 0008_listing
"""

from __future__ import annotations

import sqlalchemy as sa

revision = "0009_client_writes"
down_revision = "0008_listing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """What downgrade() would drop, in words (empty: nothing). See docs/operations.md."""
    return []
