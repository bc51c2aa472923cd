"""The gateway's one OpenStack connection: the request id a thread's calls carry (``vmha.cloud.request_ids``:
the connection sends it, a step's thread inherits its caller's, the gateway's log lines name it; Nova's own
log of the ids is checked on the real cloud in tests/integration/test_request_ids.py), and its pool, which
keeps one connection per concurrent caller (against a local HTTP server)."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from vmha.cloud.request_ids import TracedConnection, carrying, current
from vmha.gateway import connect
from vmha.outcomes import Done
from vmha.runtime.execute import execute
from vmha.runtime.logs import JsonFormatter


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A cloud "here" in clouds.yaml; nothing answers its Keystone (the tests make no authenticated call)."""
    clouds = {"clouds": {"here": {"auth_type": "password", "auth": {
        "auth_url": "http://127.0.0.1:9/v3", "username": "u", "password": "p", "project_name": "p",
        "user_domain_name": "Default", "project_domain_name": "Default"}}}}
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    return "here"


def test_the_gateways_connection_sends_the_carried_id(here: str) -> None:
    cloud = connect(here, 1)
    assert isinstance(cloud, TracedConnection)
    assert sent(cloud) is None
    with carrying("req-1"):
        assert sent(cloud) == "req-1"
    cloud.set_global_request_id("req-own")
    assert sent(cloud) == "req-own"


class _Counted(http.server.BaseHTTPRequestHandler):
    """Answers each GET once ``round`` callers are waiting at once; ``peers`` collects the client ports."""

    protocol_version = "HTTP/1.1"  # keep-alive: a connection the client kept is used again
    peers: ClassVar[set[int]] = set()
    round: ClassVar[threading.Barrier]

    def do_GET(self) -> None:
        self.peers.add(self.client_address[1])
        self.round.wait(10)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize(("pool", "connections"), [(16, 16), (10, 22)])
def test_the_pool_keeps_a_connection_for_each_concurrent_caller(here: str, pool: int, connections: int) -> None:
    callers = 16
    _Counted.peers, _Counted.round = set(), threading.Barrier(callers)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = connect(here, 5, callers=pool).session
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for _ in range(2):  # the second round reuses what the pool kept of the first
            threads = [threading.Thread(target=session.get, args=(url,), kwargs={"authenticated": False})
                       for _ in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(15)
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Counted.peers) == connections  # 10: six of the first round's thrown away, six new in the second


def sent(cloud: TracedConnection) -> str | None:
    """The id openstacksdk's proxies read from their connection at each request."""
    return cloud._global_request_id


def test_a_steps_thread_carries_its_callers_id() -> None:
    seen: list[str | None] = []

    def body() -> Done:
        seen.append(current())
        return Done()

    with carrying("req-step"):
        assert isinstance(execute(body, 5, "test", {}), Done)
    assert isinstance(execute(body, 5, "test", {}), Done)
    assert seen == ["req-step", None]


def test_log_lines_name_the_carried_id() -> None:
    record = logging.LogRecord("vmha.test", logging.INFO, __file__, 1, "read Nova", (), None)
    with carrying("req-api"):
        inside = json.loads(JsonFormatter().format(record))
    assert inside["global_request_id"] == "req-api"
    assert "global_request_id" not in json.loads(JsonFormatter().format(record))
