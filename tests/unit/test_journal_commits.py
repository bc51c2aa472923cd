"""The journal's writes on SQLite: those waiting at once share one commit, and one that fails is rolled back alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from vmha.journal import utc_now
from vmha.journal.commits import Work, Writer
from vmha.journal.database import create_journal_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = create_journal_engine(f"sqlite:///{tmp_path / 'commits.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE item (name TEXT PRIMARY KEY)")
    yield engine
    engine.dispose()


def _insert(name: str) -> Work[str]:
    def work(session: Session, _now: datetime) -> str:
        session.execute(sa.text("INSERT INTO item (name) VALUES (:name)"), {"name": name})
        return name
    return work


def _names(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.exec_driver_sql("SELECT name FROM item").scalars())


def test_writes_waiting_at_once_share_one_commit_and_a_failing_one_is_rolled_back_alone(engine: sa.Engine) -> None:
    writer = Writer(sessionmaker(engine), utc_now, grouped=True)
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda _connection: commits.append(1))
    first_started, release = threading.Event(), threading.Event()

    def first(session: Session, _now: datetime) -> str:
        first_started.set()
        release.wait(10)
        session.execute(sa.text("INSERT INTO item (name) VALUES ('first')"))
        return "first"

    outcomes: dict[str, str | Exception] = {}

    def run(name: str, work: Work[str]) -> None:
        try:
            outcomes[name] = writer.write(work)
        except Exception as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=("first", first))]
    threads[0].start()
    assert first_started.wait(10)
    # while the first write holds the turn: four more, one of them a key already taken (rolled back alone)
    for name in ("a", "b", "first", "c"):
        threads.append(threading.Thread(target=run, args=(f"{name}-{len(threads)}", _insert(name))))
        threads[-1].start()
    time.sleep(0.3)  # all four queued behind the first
    release.set()
    for thread in threads:
        thread.join(10)

    assert _names(engine) == ["a", "b", "c", "first"]
    assert [outcomes[key] for key in ("first", "a-1", "b-2", "c-4")] == ["first", "a", "b", "c"]
    assert isinstance(outcomes["first-3"], sa.exc.IntegrityError)
    assert len(commits) == 2  # the first alone, then the four waiting behind it together


def test_a_failed_commit_fails_every_write_of_its_batch_and_writes_nothing(engine: sa.Engine) -> None:
    writer = Writer(sessionmaker(engine), utc_now, grouped=True)
    first_started, release = threading.Event(), threading.Event()

    def first(session: Session, _now: datetime) -> str:
        first_started.set()
        release.wait(10)
        return "first"

    def refuse(_connection: object) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, RuntimeError("the disk is full"))

    outcomes: dict[str, str | Exception] = {}

    def run(name: str, work: Work[str]) -> None:
        try:
            outcomes[name] = writer.write(work)
        except Exception as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=("first", first))]
    threads[0].start()
    assert first_started.wait(10)
    for name in ("lost", "lost too"):  # queued behind the first: the next commit is theirs together
        threads.append(threading.Thread(target=run, args=(name, _insert(name))))
        threads[-1].start()
    time.sleep(0.3)
    sa.event.listen(engine, "commit", refuse)
    release.set()
    for thread in threads:
        thread.join(10)
    sa.event.remove(engine, "commit", refuse)

    errors = [outcomes["lost"], outcomes["lost too"]]
    assert all(isinstance(error, sa.exc.OperationalError) and "disk is full" in str(error) for error in errors)
    assert errors[0] is not errors[1]  # each writer raises an error of its own, of the database error's type
    assert writer.write(_insert("kept")) == "kept"
    assert _names(engine) == ["kept"]
