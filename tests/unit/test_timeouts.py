"""``settings.timeouts``: a hung dependency becomes an error the runtime retries, never a worker stuck for good.

A listening socket that never answers stands for a hung service (it completes TCP connections from its
backlog and says nothing); the journal's timeouts are checked on the real databases the tests run on.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.unit.functions_support import settings
from vmha.functions.locks import backend_url
from vmha.gateway import connect, warm_up
from vmha.journal import open_journal
from vmha.journal.database import server_timeouts


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def test_a_hung_keystone_ends_the_gateways_request_instead_of_hanging_it(
    silent_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = {"clouds": {"hung": {"auth_type": "password", "auth": {
        "auth_url": f"http://127.0.0.1:{silent_port}/v3", "username": "u", "password": "p", "project_name": "p",
        "user_domain_name": "Default", "project_domain_name": "Default"}}}}
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    cloud = connect("hung", 1)
    assert cloud.session.timeout == 1
    request = threading.Thread(target=warm_up, args=(cloud,), daemon=True)
    request.start()
    request.join(30)
    assert not request.is_alive()  # without the timeout it waits for an answer that never comes


def test_the_journal_bounds_every_wait_on_its_database(db_url: str) -> None:
    with open_journal(db_url, timeout_seconds=7) as journal:
        assert journal.list_notifications() == ()
    engine = sa.create_engine(db_url, connect_args=server_timeouts(sa.make_url(db_url).get_backend_name(), 7))
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                assert connection.execute(sa.text("SHOW statement_timeout")).scalar_one() == "7s"
            else:
                assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1  # the driver took its options
    finally:
        engine.dispose()


def test_server_timeouts_per_driver() -> None:
    assert server_timeouts("mysql", 2.5) == {"connect_timeout": 3, "read_timeout": 3, "write_timeout": 3}
    assert server_timeouts("postgresql", 10) == {"connect_timeout": 10, "options": "-c statement_timeout=10000"}
    assert server_timeouts("postgresql", None) == {} == server_timeouts("sqlite", 5)


def test_the_coordination_backend_gets_the_timeouts_unless_its_url_sets_them() -> None:
    assert backend_url(settings()) == ""
    etcd = settings(coordination_url="etcd3+http://127.0.0.1:2379", timeouts={"coordination_seconds": 2.5})
    assert backend_url(etcd) == "etcd3+http://127.0.0.1:2379?timeout=3&socket_timeout=3"
    own = settings(coordination_url="redis://127.0.0.1:6379?socket_timeout=1")
    assert backend_url(own) == "redis://127.0.0.1:6379?timeout=5&socket_timeout=1"
