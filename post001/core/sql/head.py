"""The schema revision this code was written for, with no imports.

post001/core/sql/schema.py upgrades any other database to it (and re-exports it); the
CLI's lean listing (post001/core/sql/quick_listing.py) reads only databases already at
it. A test keeps it equal to Alembic's head (tests/test_migrations.py).
"""

#: The newest migration in migrations/versions.
HEAD_REVISION = "0013_server_defence"
