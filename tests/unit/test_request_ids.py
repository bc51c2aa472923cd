"""The request id a gateway thread's OpenStack calls carry (``vmha.cloud.request_ids``): the process's
connection sends it, a step's thread inherits its caller's, and the gateway's log lines name it. Nova's own
log of the ids is checked on the real cloud (tests/integration/test_request_ids.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from vmha.cloud.request_ids import TracedConnection, carrying, current
from vmha.gateway import connect
from vmha.outcomes import Done
from vmha.runtime.execute import execute
from vmha.runtime.logs import JsonFormatter


def test_the_gateways_connection_sends_the_carried_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clouds = {"clouds": {"here": {"auth_type": "password", "auth": {
        "auth_url": "http://127.0.0.1:9/v3", "username": "u", "password": "p", "project_name": "p",
        "user_domain_name": "Default", "project_domain_name": "Default"}}}}
    (tmp_path / "clouds.yaml").write_text(yaml.safe_dump(clouds))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "clouds.yaml"))
    cloud = connect("here", 1)
    assert isinstance(cloud, TracedConnection)
    assert sent(cloud) is None
    with carrying("req-1"):
        assert sent(cloud) == "req-1"
    cloud.set_global_request_id("req-own")
    assert sent(cloud) == "req-own"


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
