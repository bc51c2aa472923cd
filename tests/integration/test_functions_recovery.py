"""The recovery steps against the real local cloud, called in flow order by a sequential test driver.

Each test makes its own segment (a host aggregate with ``vmha:`` metadata, unique name) and journal, and
puts back what it changed: servers deleted, hosts restored, services enabled, aggregate deleted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import catalog, helpers
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.functions_driver import Driver
from vmha.context import COMPUTE_MICROVERSION
from vmha.contracts import (
    HostEvent,
    HostPayload,
    HostStatus,
    Notification,
    Payload,
    ProcessEvent,
    ProcessPayload,
    Settings,
    StepMessage,
    VirDomainEvent,
    VmEvent,
    VmPayload,
    parse_settings,
)
from vmha.functions import STEPS
from vmha.journal import Journal, NotificationStatus, open_journal, utc_now
from vmha.outcomes import Done, Skipped

FAILED_HOST = "compute1"
HA = {"HA_Enabled": "True"}


@dataclass
class Recovery:
    """A journal, settings and a driver on the real cloud, with a segment of every compute host."""

    conn: Any
    journal: Journal
    settings: Settings
    segment: str

    def driver(self) -> Driver:
        return Driver(self.conn, self.journal, self.settings, utc_now, wait=time.sleep)

    def notify(self, host: str, payload: Payload) -> Notification:
        return Notification(uuid.uuid4(), "integration-test", host, utc_now(), payload)

    def rerun_every_step(self, notification: Notification, flow: tuple[str, ...], instances: list[str]) -> None:
        """Run each step of the finished flow once more, directly: each must find its work done."""
        driver = self.driver()
        deadline = datetime(2099, 1, 1, tzinfo=UTC)
        for position, step in enumerate(flow):
            targets = instances if STEPS[step].per_instance else [None]
            for instance in targets:
                message = StepMessage(notification.id, step, 1, flow, position, deadline,
                                      None if instance is None else uuid.UUID(instance))
                outcome = STEPS[step].run(message, driver.context(notification))
                assert isinstance(outcome, Done) or (step == "fence_host" and isinstance(outcome, Skipped)), (
                    step, outcome)


@pytest.fixture
def recovery(cloud_layout: Layout, admin_conn: Any, tmp_path: Path) -> Iterator[Recovery]:
    conn = catalog.connect(cloud_layout, "vmha-admin", compute_microversion=COMPUTE_MICROVERSION)
    name = f"vmha-test-segment-{uuid.uuid4().hex[:8]}"
    aggregate = conn.compute.create_aggregate(name=name)
    try:
        for host in COMPUTE_HOSTS:
            conn.compute.add_host_to_aggregate(aggregate, host)
        conn.compute.set_aggregate_metadata(aggregate, {"vmha:recovery_method": "auto", "vmha:enabled": "true"})
        settings = parse_settings({"host_failure": {"evacuate_all_instances": False},
                                   "retry": {"recheck_interval_seconds": 1},
                                   "fencing_file": str(cloud_layout.fencing_yaml)}, {})  # segments fence by default
        with open_journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
            yield Recovery(conn, journal, settings, name)
    finally:
        for host in conn.compute.get_aggregate(aggregate).hosts or ():
            conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)
        conn.close()


def test_host_failure_evacuates_ha_servers_and_keeps_the_host_out(
        cloud_layout: Layout, admin_conn: Any, recovery: Recovery) -> None:
    conn = recovery.conn
    prefix = f"vmha-fn-{uuid.uuid4().hex[:6]}"
    ha_servers = helpers.boot_servers(admin_conn, FAILED_HOST, 2, f"{prefix}-ha", metadata=HA)
    plain = helpers.boot_servers(admin_conn, FAILED_HOST, 1, f"{prefix}-plain")
    try:
        helpers.kill_host(cloud_layout, FAILED_HOST)
        notification = recovery.notify(FAILED_HOST, HostPayload(HostEvent.STOPPED, HostStatus.NORMAL))
        run = recovery.driver().run(notification)
        assert run.status is NotificationStatus.FINISHED, run.outcomes
        for server in ha_servers:
            moved = conn.compute.get_server(server.id)
            assert (moved.status, moved.task_state, moved.is_locked) == ("ACTIVE", None, False)
            assert moved.compute_host != FAILED_HOST
        assert conn.compute.get_server(plain[0].id).compute_host == FAILED_HOST
        service = helpers.compute_service(conn, FAILED_HOST)
        assert (service.status, service.is_forced_down, service.state) == ("disabled", True, "down")
        assert service.disabled_reason.endswith(f"(vmha notification {notification.id})")
        hosts_before = {s.id: conn.compute.get_server(s.id).compute_host for s in ha_servers + plain}
        flow = run.intake.flow  # type: ignore[union-attr]
        recovery.rerun_every_step(notification, flow, [s.id for s in ha_servers])
        assert {s.id: conn.compute.get_server(s.id).compute_host for s in ha_servers + plain} == hosts_before
        assert helpers.compute_service(conn, FAILED_HOST).disabled_reason == service.disabled_reason
    finally:
        helpers.restore_host(cloud_layout, conn, FAILED_HOST)
        helpers.delete_servers(admin_conn, ha_servers + plain)


def test_vm_failure_restarts_the_server(admin_conn: Any, recovery: Recovery) -> None:
    conn = recovery.conn
    [server] = helpers.boot_servers(admin_conn, "compute2", 1, f"vmha-fn-vm-{uuid.uuid4().hex[:6]}", metadata=HA)
    try:
        notification = recovery.notify("compute2", VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED,
                                                             uuid.UUID(server.id)))
        run = recovery.driver().run(notification)
        assert run.status is NotificationStatus.FINISHED, run.outcomes
        actions = [action.action for action in conn.compute.server_actions(server)]
        assert actions.count("stop") == 1 and actions.count("start") == 1
        restarted = conn.compute.get_server(server.id)
        assert (restarted.status, restarted.task_state) == ("ACTIVE", None)
        recovery.rerun_every_step(notification, run.intake.flow, [])  # type: ignore[union-attr]
        assert [action.action for action in conn.compute.server_actions(server)] == actions
    finally:
        helpers.delete_servers(admin_conn, [server])


def test_a_hung_guest_is_hard_rebooted_not_stopped(admin_conn: Any, recovery: Recovery) -> None:
    conn = recovery.conn
    [server] = helpers.boot_servers(admin_conn, "compute2", 1, f"vmha-fn-hung-{uuid.uuid4().hex[:6]}", metadata=HA)
    try:
        notification = recovery.notify("compute2", VmPayload(VmEvent.QEMU_GUEST_AGENT_ERROR,
                                                             VirDomainEvent.STOPPED_FAILED, uuid.UUID(server.id)))
        run = recovery.driver().run(notification)
        assert run.status is NotificationStatus.FINISHED, run.outcomes
        actions = [action.action for action in conn.compute.server_actions(server)]
        assert (actions.count("reboot"), actions.count("stop"), actions.count("start")) == (1, 0, 0)
        rebooted = conn.compute.get_server(server.id)
        assert (rebooted.status, rebooted.task_state, rebooted.compute_host) == ("ACTIVE", None, "compute2")
        recovery.rerun_every_step(notification, run.intake.flow, [])  # type: ignore[union-attr]
        assert [action.action for action in conn.compute.server_actions(server)] == actions
    finally:
        helpers.delete_servers(admin_conn, [server])


def test_process_failure_disables_the_compute_service(recovery: Recovery) -> None:
    conn = recovery.conn
    host = "compute3"
    try:
        notification = recovery.notify(host, ProcessPayload(ProcessEvent.STOPPED, "nova-compute"))
        run = recovery.driver().run(notification)
        assert run.status is NotificationStatus.FINISHED, run.outcomes
        service = helpers.compute_service(conn, host)
        assert (service.status, service.is_forced_down) == ("disabled", False)
        assert service.disabled_reason.endswith(f"(vmha notification {notification.id})")
        recovery.rerun_every_step(notification, run.intake.flow, [])  # type: ignore[union-attr]
        assert helpers.compute_service(conn, host).disabled_reason == service.disabled_reason
    finally:
        conn.compute.enable_service(helpers.compute_service(conn, host), host, "nova-compute")


def test_reserved_host_recovery_takes_the_spare_into_service(
        cloud_layout: Layout, admin_conn: Any, recovery: Recovery) -> None:
    conn, spare = recovery.conn, "compute3"
    aggregate = conn.compute.find_aggregate(recovery.segment, ignore_missing=False)
    conn.compute.set_aggregate_metadata(aggregate, {"vmha:recovery_method": "reserved_host",
                                                    "vmha:reserved_hosts": spare})
    servers = helpers.boot_servers(admin_conn, FAILED_HOST, 2, f"vmha-fn-rh-{uuid.uuid4().hex[:6]}", metadata=HA)
    conn.compute.disable_service(helpers.compute_service(conn, spare), spare, "nova-compute",
                                 disabled_reason="vmha test: spare host")
    try:
        helpers.kill_host(cloud_layout, FAILED_HOST)
        notification = recovery.notify(FAILED_HOST, HostPayload(HostEvent.STOPPED, HostStatus.NORMAL))
        run = recovery.driver().run(notification)
        assert run.status is NotificationStatus.FINISHED, run.outcomes
        assert {conn.compute.get_server(s.id).compute_host for s in servers} == {spare}
        assert helpers.compute_service(conn, spare).status == "enabled"
    finally:
        helpers.restore_host(cloud_layout, conn, FAILED_HOST)
        helpers.delete_servers(admin_conn, servers)
        conn.compute.enable_service(helpers.compute_service(conn, spare), spare, "nova-compute")
