"""Fixtures shared by the unit tests.

Journal tests run once per database in env `VMHA_TEST_DB_URLS` (comma separated SQLAlchemy URLs; the word
`sqlite` stands for a fresh SQLite file per test and is the default), e.g.
`VMHA_TEST_DB_URLS=sqlite,mysql+pymysql://vmha:secret@127.0.0.1/vmha_test?charset=utf8mb4,`
`postgresql+psycopg://vmha:secret@127.0.0.1/vmha_test`. A server database must hold nothing but the
journal: each test drops the journal's tables before it starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vmha.functions import pacing
from vmha.functions.steps import confirm_instance_evacuated
from vmha.journal import Journal, open_journal
from vmha.journal.database import VERSION_TABLE
from vmha.journal.schema import Base
from vmha.nova_news import NovaNews

from .journal_support import FakeClock

SQLITE_FILE = "sqlite"


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with what a fresh gateway process knows of Nova: no window cut, no settle times, no
    listings, no news (else the order of the tests would change what they see)."""
    monkeypatch.setattr(pacing, "WINDOW", pacing.Window())
    monkeypatch.setattr(pacing, "SETTLING", pacing.Settling())
    monkeypatch.setattr(pacing, "SIGHTINGS", pacing.Sightings())
    monkeypatch.setattr(confirm_instance_evacuated, "NEWS", NovaNews())


def _database_params() -> list[object]:
    urls = [url.strip() for url in os.environ.get("VMHA_TEST_DB_URLS", "").split(",") if url.strip()]
    return [
        pytest.param(url, id=url if url == SQLITE_FILE else f"{sa.make_url(url).get_backend_name()}{index}")
        for index, url in enumerate(urls or [SQLITE_FILE])
    ]


@pytest.fixture(params=_database_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty journal database (no tables yet)."""
    url: str = request.param
    if url == SQLITE_FILE:
        return f"sqlite:///{tmp_path / 'journal.db'}"
    engine = sa.create_engine(url)
    try:
        Base.metadata.drop_all(engine)
        sa.Table(VERSION_TABLE, sa.MetaData()).drop(engine, checkfirst=True)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def journal(db_url: str, clock: FakeClock) -> Iterator[Journal]:
    """A journal on a freshly migrated database, running on fake time."""
    with open_journal(db_url, clock) as opened:
        yield opened
