"""Alembic environment: run by followup.store with an open connection.

To write a new migration: `alembic -c src/followup/migrations/alembic.ini
revision -m "what changes"` and edit the file; `store.SCHEMA_HEAD` must then
name the new revision (a test checks it).
"""

from alembic import context

from followup.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("followup migrations run through followup.store.Store")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
