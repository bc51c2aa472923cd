"""The journal's upkeep: where its schema stands, opening it without migrating, purging old recoveries.

Only the gateway (``open_journal``) and ``vmha db upgrade`` migrate the schema. Clients (``vmha status``, the
``openstack vmha`` plugin, ``vmha db purge``) open the journal with ``open_current``, which refuses a schema
behind (or ahead of) this vmha's with ``SchemaMismatchError`` naming the fix, instead of altering the
production database from an operator's workstation.

``purge`` deletes the notifications that ended (a terminal status) before a cutoff with every row that refers
to them (whatever table: found through the foreign keys), the function executions that ended before it and the
audit rows older than it, a batch per transaction so the gateway's writes are never held up for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vmha.journal import audit
from vmha.journal.database import MIGRATIONS, VERSION_TABLE, create_journal_engine
from vmha.journal.errors import JournalError
from vmha.journal.journal import Journal
from vmha.journal.records import ExecutionStatus, require_aware
from vmha.journal.schema import Base, ExecutionRow, NotificationRow
from vmha.journal.transitions import TERMINAL

PURGE_BATCH = 500


class SchemaMismatchError(JournalError):
    """The journal's schema is not the one this vmha was built for; the message says what to run."""


@dataclass(frozen=True)
class SchemaState:
    """The journal's schema revision (None: no vmha schema yet) and the one this vmha needs."""

    current: str | None
    head: str

    @property
    def behind(self) -> bool:
        return self.current != self.head


@dataclass(frozen=True)
class Purged:
    """Rows deleted by ``purge``: notifications, rows that referred to them, function executions, audit rows."""

    notifications: int
    related: int
    executions: int
    audit: int


def schema_state(engine: sa.Engine) -> SchemaState:
    """Where the schema of the journal at ``engine`` stands (reads only)."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:  # the package always ships its migrations
        raise JournalError(f"no journal migrations in {MIGRATIONS}")
    with engine.connect() as connection:
        current = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
    return SchemaState(current, head)


def check_current(engine: sa.Engine) -> None:
    """SchemaMismatchError unless the journal at ``engine`` is at this vmha's schema."""
    state = schema_state(engine)
    if state.current is None:
        raise SchemaMismatchError(f"the journal at {engine.url!r} has no vmha schema: start the gateway or run "
                                  "`vmha db upgrade` first")
    if state.behind:
        raise SchemaMismatchError(f"the journal schema is at revision {state.current}, this vmha needs "
                                  f"{state.head}: run `vmha db upgrade` (or upgrade this client if the journal "
                                  "is newer)")


def open_current(url: str | sa.URL, *, timeout_seconds: float | None = None) -> Journal:
    """The journal at ``url`` as it is, never migrated; SchemaMismatchError when its schema is not current."""
    engine = create_journal_engine(url, timeout_seconds)
    try:
        check_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return Journal(engine)


def purge(engine: sa.Engine, before: datetime) -> Purged:
    """Delete what ended before ``before`` (timezone-aware): notifications in a terminal status last changed
    then, the rows that refer to them, function executions no longer running and audit rows. Checks the schema
    first."""
    require_aware(before, "before")
    check_current(engine)
    children = _referring_tables(Base.metadata.tables[NotificationRow.__tablename__])
    notifications = related = 0
    while True:
        with engine.begin() as connection:
            ids = connection.execute(_ended_notifications(before).limit(PURGE_BATCH)).scalars().all()
            if not ids:
                break
            for table, column in children:
                related += connection.execute(sa.delete(table).where(column.in_(ids))).rowcount
            notifications += connection.execute(
                sa.delete(NotificationRow).where(NotificationRow.id.in_(ids))).rowcount
    with engine.begin() as connection:
        executions = connection.execute(sa.delete(ExecutionRow).where(
            ExecutionRow.status != ExecutionStatus.RUNNING.value, ExecutionRow.updated_at < before)).rowcount
        audited = audit.purge(connection, before)
    return Purged(notifications, related, executions, audited)


def _ended_notifications(before: datetime) -> sa.Select[str]:
    return sa.select(NotificationRow.id).where(
        NotificationRow.status.in_([status.value for status in TERMINAL]), NotificationRow.updated_at < before
    ).order_by(NotificationRow.updated_at)


def _referring_tables(target: sa.Table) -> list[tuple[sa.Table, sa.Column[str]]]:
    """Each table with a foreign key to ``target`` and the column that holds it."""
    found = []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is target:
                found.append((table, key.parent))
    return found
