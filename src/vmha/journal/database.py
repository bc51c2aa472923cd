"""Engines for the journal, and schema migrations run in-process (Alembic, scripts in `migrations/`).

SQLite is put in explicit-transaction mode and every transaction starts with `BEGIN IMMEDIATE`, so
writers serialise on the database lock (waiting up to the busy timeout) instead of failing on a lock
upgrade, and DDL runs inside the migration's transaction. Its write-ahead log (WAL, every process on one
machine) lets reads go on while a step's result is written; the writers of one process queue, and share
commits, in ``vmha.journal.commits``. Migrations hold a database-wide lock (SQLite:
that write lock; PostgreSQL: an advisory lock; MariaDB/MySQL: a named lock), so processes that start at
the same time migrate one after the other and the later ones find the schema at head.

A new revision, when the models change:
`alembic.command.revision(alembic_config(conn), message="...", autogenerate=True)`, then review it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from vmha.journal.errors import JournalError

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "vmha_journal_version"
SQLITE_BUSY_TIMEOUT_S = 60.0
MIGRATION_LOCK_TIMEOUT_S = 300
READ_ONLY = "vmha_journal_read_only"
"""Execution option marking read-only transactions (SQLite starts them DEFERRED, sharing the database)."""
_LOCK_NAME = "vmha-journal-migrations"
_PG_LOCK_KEY = 0x766D6861  # "vmha"
_DEADLOCK_SQLSTATES = frozenset({"40001", "40P01"})  # PostgreSQL: serialization failure, deadlock
_DEADLOCK_MYSQL_ERRORS = frozenset({1205, 1213})  # MariaDB/MySQL: lock wait timeout, deadlock
_ALEMBIC_RUN = threading.Lock()
"""Alembic keeps the running migration in module-level proxies (`alembic.context`, `alembic.op`), so
one process runs one migration at a time, whatever the database."""


def create_journal_engine(url: str | sa.URL, timeout_seconds: float | None = None) -> sa.Engine:
    """An engine for the journal database at `url`, configured for safe concurrent use; with
    ``timeout_seconds``, no connection attempt, read, write or statement waits longer (a hung database server
    becomes an error the caller retries), and SQLite waits that long for its lock."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Correctness rests on row locks, unique keys and compare-and-set updates, not on snapshots;
        # READ COMMITTED also spares InnoDB the gap locks that deadlock concurrent first inserts.
        return sa.create_engine(parsed, pool_pre_ping=True, isolation_level="READ COMMITTED",
                                connect_args=server_timeouts(parsed.get_backend_name(), timeout_seconds))
    busy = SQLITE_BUSY_TIMEOUT_S if timeout_seconds is None else timeout_seconds
    engine = sa.create_engine(parsed, connect_args={"timeout": busy, "check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def server_timeouts(backend: str, timeout_seconds: float | None) -> dict[str, Any]:
    """The DBAPI connect arguments bounding every wait on a database server (none for ``None``)."""
    if timeout_seconds is None:
        return {}
    seconds = max(1, math.ceil(timeout_seconds))
    if backend in ("mysql", "mariadb"):  # PyMySQL
        return {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    if backend == "postgresql":  # psycopg / psycopg2 (libpq)
        return {"connect_timeout": seconds, "options": f"-c statement_timeout={seconds * 1000}"}
    return {}


def lost_a_race(error: sa.exc.DBAPIError) -> bool:
    """True when retrying the whole transaction can succeed: a unique key taken meanwhile, or a deadlock."""
    if isinstance(error, sa.exc.IntegrityError):
        return True
    driver_error = error.orig
    if getattr(driver_error, "sqlstate", None) in _DEADLOCK_SQLSTATES:
        return True
    code = driver_error.args[0] if driver_error is not None and driver_error.args else None
    return code in _DEADLOCK_MYSQL_ERRORS


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver's implicit BEGIN skips DDL; we issue our own
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer (an in-memory database: no-op)
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def alembic_config(connection: sa.Connection) -> Config:
    """Alembic configuration that runs the packaged migrations on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = VERSION_TABLE
    return config


def upgrade(target: str | sa.URL | sa.Engine, revision: str = "head") -> None:
    """Migrate the journal schema at `target` to `revision`; a no-op when it is already there."""
    engine = target if isinstance(target, sa.Engine) else create_journal_engine(target)
    try:
        with _ALEMBIC_RUN, engine.begin() as connection, _migration_lock(connection):
            command.upgrade(alembic_config(connection), revision)
    finally:
        if engine is not target:
            engine.dispose()


@contextmanager
def _migration_lock(connection: sa.Connection) -> Iterator[None]:
    """Hold a database-wide lock for the migration (SQLite already holds its write lock)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    if dialect not in ("mysql", "mariadb"):
        yield
        return
    acquired = connection.execute(
        sa.text("SELECT GET_LOCK(:name, :timeout)"), {"name": _LOCK_NAME, "timeout": MIGRATION_LOCK_TIMEOUT_S}
    ).scalar()
    if acquired != 1:
        raise JournalError(f"could not take the migration lock {_LOCK_NAME!r}")
    try:
        yield
    finally:
        connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK_NAME})
