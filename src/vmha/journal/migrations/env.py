"""Alembic environment: runs on the connection (and inside the transaction) the caller passes in."""

from alembic import context

from vmha.journal.schema import Base

config = context.config
context.configure(
    connection=config.attributes["connection"],
    target_metadata=Base.metadata,
    version_table=config.attributes["version_table"],
    render_as_batch=True,  # SQLite can only ALTER through table copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
