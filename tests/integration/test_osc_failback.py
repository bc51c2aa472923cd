"""`openstack vmha host failback` as operators run it: the real `openstack` command with only a clouds.yaml,
against a real gateway found in the Keystone catalog. Its refusals reach the operator as one line; a failback
with ``--wait`` moves a server back with a real Nova live migration (the fake driver's) and shows it. The
recovery it undoes is seeded in the gateway's journal as a host recovery records it (a server booted on another
host stands for the evacuated one): the failback of a host a real gateway recovered is in test_failback. The
test's thread runs the gateway's sweep look (``vmha.sweeps``), which the test gateway has no sweeper for."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from tests.cloud import helpers
from tests.cloud.procs import wait_until
from tests.failback_support import seed_recovery
from vmha import sweeps

from .recovery_support import segment
from .test_api_masakari_client import free_host
from .test_osc_plugin import Osc, osc  # noqa: F401 (osc: the fixture of a registered gateway)


def test_host_failback_refuses_then_moves_a_server_back(osc: Osc, admin_conn: Any) -> None:  # noqa: F811
    host = free_host(admin_conn)
    unknown = osc.refused("host", "failback", "compute99")
    outside = osc.refused("host", "failback", host)
    with segment(admin_conn, (host,), {"vmha:recovery_method": "auto"}, prefix="fb-osc"):
        no_recovery = osc.refused("host", "failback", host)
        nothing_to_cancel = osc.refused("host", "failback", host, "--cancel")
        elsewhere = other_host(admin_conn, host)
        [server] = helpers.boot_servers(admin_conn, elsewhere, 1, f"fb-osc-{uuid.uuid4().hex[:6]}")
        try:
            recovery = seed_recovery(osc.journal, host, (server.id,), elsewhere, "fb-osc-test")
            with sweeping(osc):
                done = osc.json("host", "failback", host, "--wait")
            landed = admin_conn.compute.get_server(server.id).compute_host
        finally:
            helpers.delete_servers(admin_conn, [server])
    assert unknown == "the gateway refused (404): Nova has no nova-compute service on compute99"
    assert outside == f"the gateway refused (404): {host} is in no vmha segment"
    assert no_recovery == f"the gateway refused (409): the journal holds no recovery of {host}: nothing to move back"
    assert nothing_to_cancel == f"the gateway refused (409): no failback of {host} is under way"
    assert (done["Host"], done["Status"]) == (host, "finished")
    assert done["Servers"] == f"{server.id}: {elsewhere} -> {host} succeeded (back on {host})"
    record = osc.journal.get_notification_record(done["Notification"])
    assert record is not None and record.payload["recovery"] == recovery
    assert landed == host


def other_host(conn: Any, host: str) -> str:
    """Another compute host that is up and enabled (the server to move back runs there)."""
    def found() -> list[str]:
        return [service.host for service in conn.compute.services(binary="nova-compute")
                if service.host != host and service.host.startswith("compute") and service.status == "enabled"
                and service.state == "up"]
    assert wait_until(lambda: bool(found()), 600, 5), "no other compute host is up"
    return found()[0]


@contextlib.contextmanager
def sweeping(cli: Osc) -> Iterator[None]:
    """The gateway's sweep look every second, as `vmha gateway`'s sweeper runs it, until the block ends."""
    services, stop = cli.api.gateway.services, threading.Event()

    def sweep() -> None:
        while not stop.wait(1.0):
            sweeps.look_once(services.settings, services.journal, services.cloud)

    thread = threading.Thread(target=sweep)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)
