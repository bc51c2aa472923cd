"""Alembic environment and revisions of the journal schema; run through `vmha.journal.database`."""
