"""The journal's upkeep on real databases: clients open it without migrating and refuse a schema behind;
`vmha db upgrade` migrates it; `vmha db purge` deletes ended recoveries (with every row that refers to them)
and ended function executions older than the cutoff, and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.unit.journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification
from vmha import cli
from vmha.journal import (
    ExecutionStatus,
    FenceMethod,
    InstanceStatus,
    Journal,
    NotificationStatus,
    StepClaim,
    StepKey,
    create_journal_engine,
    upgrade,
)
from vmha.journal.upkeep import SchemaMismatchError, open_current, purge, schema_state

LEASE = timedelta(seconds=60)


def _revision(url: str) -> str | None:
    engine = create_journal_engine(url)
    try:
        return schema_state(engine).current
    finally:
        engine.dispose()


def _ended_recovery(journal: Journal, host: str) -> str:
    """A host recovery that ran a step, moved a server, fenced the host and finished."""
    new = new_notification(host)
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    journal.set_status(new.id, NotificationStatus.RUNNING)
    claim = journal.begin_step(StepKey(new.id, "fence_host"), LEASE)
    assert isinstance(claim, StepClaim)
    journal.finish_step(claim, {})
    journal.record_fence(new.id, host, FenceMethod.REDFISH, {"bmc": "test"})
    journal.record_instance_progress(new.id, "5b0e8d4e-0000-4000-8000-000000000001", InstanceStatus.SUCCEEDED,
                                     source_host=host, dest_host="compute-9")
    journal.set_status(new.id, NotificationStatus.FINISHED)
    return new.id


def test_a_client_refuses_a_journal_without_schema_or_behind_and_never_migrates_it(db_url: str) -> None:
    with pytest.raises(SchemaMismatchError, match="no vmha schema"):
        open_current(db_url)
    assert _revision(db_url) is None
    upgrade(db_url, "0004")
    with pytest.raises(SchemaMismatchError, match=r"at revision 0004, this vmha needs .*vmha db upgrade"):
        open_current(db_url)
    assert _revision(db_url) == "0004"


def test_status_refuses_a_journal_behind_and_db_upgrade_brings_it_to_head(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(db_url, "0004")
    assert cli.main(["status", "--once", "--journal-url", db_url]) == 2
    assert "run `vmha db upgrade`" in capsys.readouterr().err
    assert _revision(db_url) == "0004"
    assert cli.main(["db", "upgrade", "--journal-url", db_url]) == 0
    head = _revision(db_url)
    assert head is not None and head != "0004"
    assert f"upgraded from 0004 to revision {head}" in capsys.readouterr().out
    assert cli.main(["db", "upgrade", "--journal-url", db_url]) == 0
    assert f"already at revision {head}" in capsys.readouterr().out
    assert cli.main(["status", "--once", "--journal-url", db_url]) == 0
    open_current(db_url).close()


def test_purge_deletes_what_ended_before_the_cutoff_and_every_row_of_it(
        journal: Journal, clock: FakeClock, db_url: str) -> None:
    old = _ended_recovery(journal, "compute-1")
    running = new_notification("compute-2")
    journal.record_notification(running, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    journal.set_status(running.id, NotificationStatus.RUNNING)
    journal.begin_execution("e-ended", "ok", {}, sync=True)
    journal.end_execution("e-ended", ExecutionStatus.SUCCESS, {}, 0.1)
    journal.begin_execution("e-running", "ok", {}, sync=False)
    clock.advance(timedelta(days=40))
    recent = _ended_recovery(journal, "compute-3")
    engine = create_journal_engine(db_url)
    try:
        purged = purge(engine, clock.now - timedelta(days=30))
        again = purge(engine, clock.now - timedelta(days=30))
        with engine.connect() as connection:
            fences = connection.execute(sa.text("SELECT notification_id FROM fences")).scalars().all()
    finally:
        engine.dispose()
    assert (purged.notifications, purged.executions) == (1, 1)
    assert purged.related >= 4  # its step run, fence, instance progress and dedup claim at least
    assert (again.notifications, again.related, again.executions) == (0, 0, 0)
    assert journal.get_notification(old) is None
    assert journal.get_notification(running.id) is not None and journal.get_notification(recent) is not None
    assert fences == [recent]
    assert journal.get_execution("e-ended") is None and journal.get_execution("e-running") is not None


def test_db_purge_prints_what_it_deleted_and_refuses_a_bad_age(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(db_url)
    assert cli.main(["db", "purge", "--older-than", "30", "--journal-url", db_url]) == 0
    out = capsys.readouterr().out
    assert "purged what ended before" in out and "0  notifications" in out
    for bad in ("0", "-1", "soon"):
        with pytest.raises(SystemExit) as exited:
            cli.main(["db", "purge", "--older-than", bad, "--journal-url", db_url])
        assert exited.value.code == 2
    assert "--older-than" in capsys.readouterr().err
