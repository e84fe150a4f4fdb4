"""exactly one owner per collective: repair legacy memberships, then enforce it

The replaced platform could store a collective's owner as an "admin" row, or with no
membership row at all, and nothing stopped a second "owner" row. docs/product.md wants exactly
one owner: the user in collectives.owner_id, stored with role `owner`. This revision
repairs every collective to that shape (each change audited, actor NULL: the migration
acted, nobody in particular) and then adds a partial unique index so it stays true.

Revision ID: 0007_one_owner
Revises: 0006_auth_rls
Create Date: 2026-01-05 09:00:06
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from post001.core.sql import tables as t

revision = "0007_one_owner"
down_revision = "0006_auth_rls"
branch_labels = None
depends_on = None

INDEX = "uq_collective_members_one_owner"
REQUEST_ID = "0007_one_owner"


def repair_owners(conn: sa.Connection) -> int:
    """Make each collective's owner_id its one `owner` row. Returns the rows changed."""
    now = datetime.now(UTC)
    members = t.members
    owners = {r.id: r.owner_id for r in conn.execute(
        sa.select(t.collectives.c.id, t.collectives.c.owner_id))}
    rows = conn.execute(sa.select(members.c.id, members.c.collective_id, members.c.member_id,
                                  members.c.role)).all()
    by_collective: dict[uuid.UUID, list[sa.Row[tuple[object, ...]]]] = {}
    for row in rows:
        by_collective.setdefault(row.collective_id, []).append(row)
    promote, demote, add, events = [], [], [], []
    for cid, owner_id in owners.items():
        mine = by_collective.get(cid, [])
        owner_row = next((r for r in mine if r.member_id == owner_id), None)
        if owner_row is None:
            add.append({"id": uuid.uuid4(), "collective_id": cid, "member_id": owner_id,
                        "role": "owner", "created_at": now})
            events.append((cid, "member.added", None, {"user_id": str(owner_id),
                                                       "role": "owner"}))
        elif owner_row.role != "owner":
            promote.append(owner_row.id)
            events.append((cid, "member.role_changed",
                           {"user_id": str(owner_id), "role": owner_row.role},
                           {"user_id": str(owner_id), "role": "owner"}))
        for row in mine:
            if row.role == "owner" and row.member_id != owner_id:
                demote.append(row.id)
                events.append((cid, "member.role_changed",
                               {"user_id": str(row.member_id), "role": "owner"},
                               {"user_id": str(row.member_id), "role": "admin"}))
    if demote:
        conn.execute(members.update().where(members.c.id.in_(demote)).values(role="admin"))
    if promote:
        conn.execute(members.update().where(members.c.id.in_(promote)).values(role="owner"))
    if add:
        conn.execute(members.insert(), add)
    if events:
        conn.execute(t.audit.insert(), [
            {"id": uuid.uuid4(), "at": now, "actor_id": None, "action": action,
             "post_id": None, "collective_id": cid, "old_values": old, "new_values": new,
             "request_id": REQUEST_ID}
            for cid, action, old, new in events
        ])
    return len(demote) + len(promote) + len(add)


def upgrade() -> None:
    repair_owners(op.get_bind())
    op.create_index(INDEX, "collective_members", ["collective_id"], unique=True,
                    sqlite_where=sa.text("role = 'owner'"),
                    postgresql_where=sa.text("role = 'owner'"))


def downgrade() -> None:
    op.drop_index(INDEX, table_name="collective_members")


def downgrade_would_lose(conn: sa.Connection) -> list[str]:
    """Only the one-owner index goes; every membership stays."""
    return []
