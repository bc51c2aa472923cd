"""The journal's writes on SQLite: those waiting at once share one commit, and one that fails is rolled back alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
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


def _queued_behind_first(writer: Writer, first: Work[str], queued: dict[str, Work[str]],
                         before_release: Callable[[], None] = lambda: None) -> dict[str, str | Exception]:
    """Run ``first`` until it holds the writer's turn, start the ``queued`` writes (by name) behind it, call
    ``before_release``, let the first go on; every write's result or error, by name ("first" for the first)."""
    started, release = threading.Event(), threading.Event()
    outcomes: dict[str, str | Exception] = {}

    def held(session: Session, now: datetime) -> str:
        started.set()
        release.wait(10)
        return first(session, now)

    def run(name: str, work: Work[str]) -> None:
        try:
            outcomes[name] = writer.write(work)
        except Exception as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=("first", held))]
    threads[0].start()
    assert started.wait(10)
    for name, work in queued.items():
        threads.append(threading.Thread(target=run, args=(name, work)))
        threads[-1].start()
    time.sleep(0.3)  # all queued behind the first
    before_release()
    release.set()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_writes_waiting_at_once_share_one_commit_and_a_failing_one_is_rolled_back_alone(engine: sa.Engine) -> None:
    writer = Writer(sessionmaker(engine), utc_now, grouped=True)
    commits: list[int] = []
    sa.event.listen(engine, "commit", lambda _connection: commits.append(1))
    # while the first write holds the turn: four more, one of them a key already taken (rolled back alone)
    outcomes = _queued_behind_first(writer, _insert("first"), {
        "a": _insert("a"), "b": _insert("b"), "first again": _insert("first"), "c": _insert("c")})

    assert _names(engine) == ["a", "b", "c", "first"]
    assert [outcomes[key] for key in ("first", "a", "b", "c")] == ["first", "a", "b", "c"]
    assert isinstance(outcomes["first again"], sa.exc.IntegrityError)
    assert len(commits) == 2  # the first alone, then the four waiting behind it together


def test_a_failed_commit_fails_every_write_of_its_batch_and_writes_nothing(engine: sa.Engine) -> None:
    writer = Writer(sessionmaker(engine), utc_now, grouped=True)

    def nothing(_session: Session, _now: datetime) -> str:
        return "first"

    def refuse(_connection: object) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, RuntimeError("the disk is full"))

    # queued behind the first: the next commit is theirs together, and it fails
    outcomes = _queued_behind_first(writer, nothing, {"lost": _insert("lost"), "lost too": _insert("lost too")},
                                    lambda: sa.event.listen(engine, "commit", refuse))
    sa.event.remove(engine, "commit", refuse)

    errors = [outcomes["lost"], outcomes["lost too"]]
    assert all(isinstance(error, sa.exc.OperationalError) and "disk is full" in str(error) for error in errors)
    assert errors[0] is not errors[1]  # each writer raises an error of its own, of the database error's type
    assert writer.write(_insert("kept")) == "kept"
    assert _names(engine) == ["kept"]
