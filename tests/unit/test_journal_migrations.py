"""The journal schema: created by the packaged migrations, idempotent, safe to run concurrently."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from vmha.journal import Journal, NewNotification, open_journal, upgrade
from vmha.journal.database import VERSION_TABLE, alembic_config, create_journal_engine
from vmha.journal.schema import Base

from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification

JOURNAL_TABLES = {"notifications", "notification_dedup", "step_runs", "instance_progress", "progress_events"}


def _head() -> str:
    with create_journal_engine("sqlite://").connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(connection)).get_current_head()
    assert head is not None
    return head


def _current_revision(url: str) -> str | None:
    engine = create_journal_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        engine.dispose()


def _table_names(url: str) -> set[str]:
    engine = create_journal_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_at_head(db_url: str) -> None:
    upgrade(db_url)

    assert JOURNAL_TABLES | {VERSION_TABLE} <= _table_names(db_url)
    assert _current_revision(db_url) == _head()


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    upgrade(db_url)

    engine = create_journal_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrade_again_keeps_data_and_revision(db_url: str, clock: FakeClock) -> None:
    with open_journal(db_url, clock) as journal:
        recorded = journal.record_notification(
            new_notification(), dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN
        )

    upgrade(db_url)

    assert _current_revision(db_url) == _head()
    with open_journal(db_url, clock) as journal:
        detail = journal.get_notification(recorded.notification.id)
    assert detail is not None
    assert detail.notification == recorded.notification


def test_downgrade_to_base_removes_the_tables_and_upgrade_restores_them(db_url: str) -> None:
    upgrade(db_url)
    engine = create_journal_engine(db_url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
    finally:
        engine.dispose()

    assert not JOURNAL_TABLES & _table_names(db_url)
    upgrade(db_url)
    assert _table_names(db_url) >= JOURNAL_TABLES


def test_threads_starting_together_migrate_once(db_url: str) -> None:
    starters = 4
    barrier = threading.Barrier(starters)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            upgrade(db_url)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _current_revision(db_url) == _head()


def test_processes_starting_together_migrate_once(db_url: str) -> None:
    script = "import sys; from vmha.journal import upgrade; upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", script, db_url], stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [(process.communicate(timeout=120)[1], process.returncode) for process in processes]
    failures = [stderr for stderr, returncode in outputs if returncode != 0]

    assert failures == []
    assert _current_revision(db_url) == _head()


def test_timestamps_come_back_timezone_aware_in_utc(journal: Journal) -> None:
    plus_two = timezone(timedelta(hours=2))
    sent = new_notification(generated_time=datetime(2026, 3, 1, 14, 0, tzinfo=plus_two))

    stored = journal.record_notification(sent, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    detail = journal.get_notification(sent.id)

    assert detail is not None
    assert detail.notification.generated_time == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert detail.notification.generated_time.tzinfo == UTC
    assert detail.notification.created_at == stored.notification.created_at


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        NewNotification(id="n", type="VM", hostname="h", generated_time=datetime(2026, 3, 1), payload={}, source="test")


def test_a_naive_clock_is_refused(db_url: str) -> None:
    with open_journal(db_url, lambda: datetime(2026, 3, 1)) as journal, pytest.raises(ValueError):
        journal.record_notification(new_notification(), dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)

