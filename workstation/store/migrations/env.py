"""Alembic environment for the local case database.

The store runs migrations programmatically on its own (already keyed) SQLCipher connection,
passed in ``config.attributes["connection"]``; there is no URL and no alembic.ini at run
time, so the key never appears in configuration.
"""

from __future__ import annotations

from alembic import context

from workstation.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies tables
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
