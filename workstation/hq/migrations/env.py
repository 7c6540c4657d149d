"""Alembic environment for HQ's database (SQLite or PostgreSQL).

HQ runs its migrations at startup on its own connection, passed in
``config.attributes["connection"]``; the version table is ``hq_alembic_version`` so that
HQ can live in a PostgreSQL database shared with other schemas.
"""

from __future__ import annotations

from alembic import context

from workstation.hq.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="hq_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
