"""Journal engines: SQLite locking set-up, and which database errors count as a lost race."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg.errors
import pymysql.err
import pytest
import sqlalchemy as sa

from vmha.journal import create_journal_engine, open_journal, upgrade
from vmha.journal.database import lost_a_race


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with open_journal(f"sqlite:///{path}") as journal:
        writer = sqlite3.connect(path, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            assert journal.list_notifications() == ()
            assert time.monotonic() - started < 5
        finally:
            writer.close()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    upgrade(url)
    engine = create_journal_engine(url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO notification_dedup (dedup_key, notification_id, claimed_at) "
                "VALUES ('k', 'no-such-notification', '2026-03-01 12:00:00.000000')"
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (sa.exc.IntegrityError("INSERT", {}, pymysql.err.IntegrityError(1062, "Duplicate entry")), True),
        (sa.exc.OperationalError("INSERT", {}, pymysql.err.OperationalError(1213, "Deadlock found")), True),
        (sa.exc.OperationalError("UPDATE", {}, pymysql.err.OperationalError(1205, "Lock wait timeout")), True),
        (sa.exc.OperationalError("INSERT", {}, psycopg.errors.DeadlockDetected("deadlock detected")), True),
        (sa.exc.OperationalError("UPDATE", {}, psycopg.errors.SerializationFailure("could not serialize")), True),
        (sa.exc.OperationalError("SELECT", {}, pymysql.err.OperationalError(2003, "Can't connect")), False),
        (sa.exc.OperationalError("SELECT", {}, psycopg.errors.AdminShutdown("terminating connection")), False),
        (sa.exc.DataError("INSERT", {}, pymysql.err.DataError(1406, "Data too long")), False),
    ],
    ids=lambda value: type(value.orig).__name__ if isinstance(value, sa.exc.DBAPIError) else str(value),
)
def test_only_key_clashes_and_deadlocks_are_retried(error: sa.exc.DBAPIError, retry: bool) -> None:
    assert lost_a_race(error) is retry
