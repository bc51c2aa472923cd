"""fence_host on the real cloud: the failed host's BMC emulator is powered off, and read back off, before any
server is evacuated; with a BMC that cannot be reached or refuses the credentials nothing is evacuated.

Each test makes its own segment (unique name, ``vmha:fencing: required``) and journal, and puts back what
it changed: the BMC powered on, the host restored, servers and aggregate deleted.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS
from tests.fencing_support import HA_KEY, Fenced, assert_fenced_then_evacuated, fenced
from vmha.fencing import BmcAccess, PowerState, power_driver
from vmha.journal import NotificationStatus

__all__ = ["fenced"]  # the fixture


@pytest.fixture
def failed_host(request: pytest.FixtureRequest, fenced: Fenced, admin_conn: Any) -> Iterator[tuple[str, list[Any]]]:
    """A host with two HA servers, killed; afterwards powered on, restored, its servers deleted."""
    host: str = request.param
    prefix = f"vmha-fence-{uuid.uuid4().hex[:6]}"
    try:
        servers = helpers.boot_servers(admin_conn, host, 2, prefix, metadata={HA_KEY: "true"})
        helpers.kill_host(fenced.layout, host)
        yield host, servers
    finally:
        try:
            if not helpers.host_is_running(fenced.layout, host):
                helpers.restore_host(fenced.layout, fenced.conn, host)
            helpers.delete_servers(admin_conn, list(admin_conn.compute.servers(all_projects=True, name=f"^{prefix}-")))
        finally:
            power_driver(fenced.bmc(host)).power_on()


@pytest.mark.parametrize("failed_host", ["compute1", COMPUTE_HOSTS[-1]], ids=["redfish", "ipmi"], indirect=True)
def test_the_host_is_powered_off_and_only_then_evacuated(fenced: Fenced, failed_host: tuple[str, list[Any]]) -> None:
    host, servers = failed_host
    run, detail = fenced.run(host, fenced.layout.fencing_yaml)
    assert_fenced_then_evacuated(fenced, host, servers, run, detail)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fencing_file(path: Path, access: BmcAccess) -> Path:
    entry = {"protocol": access.protocol.value, "address": access.address, "username": access.username,
             "password": access.password, "port": access.port, "timeout_seconds": 2}
    path.write_text(yaml.safe_dump({"hosts": {access.host: entry}}))
    return path


@pytest.mark.parametrize(("failed_host", "change", "words"), [
    ("compute1", {"address": f"http://127.0.0.1:{_closed_port()}"}, "cannot reach the BMC of compute1"),
    ("compute1", {"password": "not-the-password"}, "refused the credentials"),
], ids=["unreachable", "wrong-password"], indirect=["failed_host"])
def test_without_confirmed_fencing_nothing_is_evacuated(
        fenced: Fenced, failed_host: tuple[str, list[Any]], change: dict[str, Any], words: str) -> None:
    host, servers = failed_host
    broken = _fencing_file(fenced.tmp_path / "fencing.yaml", dataclasses.replace(fenced.bmc(host), **change))
    run, detail = fenced.run(host, broken)
    assert run.status is NotificationStatus.FAILED
    reason = str(detail.notification.status_reason)
    assert words in reason and "not-the-password" not in reason
    assert [step for step, _, _ in run.outcomes][-1] == "fence_host"
    for server in servers:
        assert fenced.conn.compute.get_server(server.id).compute_host == host
    assert power_driver(fenced.bmc(host)).power_state() is PowerState.ON
    assert not helpers.compute_service(fenced.conn, host).is_forced_down
