"""A segment that requires fencing, for the tests that run a host failure's flow on the real cloud and check
that the host's BMC was powered off before any server was evacuated."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import catalog
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.functions_driver import Driver, FlowRun
from vmha.context import COMPUTE_MICROVERSION
from vmha.contracts import HostEvent, HostPayload, HostStatus, Notification, parse_settings
from vmha.fencing import BmcAccess, PowerState, load_fencing_config, power_driver
from vmha.journal import NotificationDetail, NotificationStatus, open_journal, utc_now
from vmha.outcomes import Done

HA_KEY = f"vmha_test_fencing_{uuid.uuid4().hex[:8]}"
"""The fencing tests' own opt-in key: other engineers' servers on a killed host are left to them."""


@dataclass
class Fenced:
    """A segment of every compute host that requires fencing, and where the test's journal lives."""

    conn: Any
    layout: Layout
    segment: str
    tmp_path: Path

    def run(self, host: str, fencing_file: Path) -> tuple[FlowRun, NotificationDetail]:
        """Kill-free part of a host failure: a notification of ``host`` through intake and its whole flow."""
        return self.recover(Notification(uuid.uuid4(), "integration-test", host, utc_now(),
                                         HostPayload(HostEvent.STOPPED, HostStatus.NORMAL)), fencing_file)

    def recover(self, notification: Notification, fencing_file: Path,
                coordination_url: str = "") -> tuple[FlowRun, NotificationDetail]:
        """``notification`` through intake and its whole flow, on a journal of its own."""
        settings = parse_settings({"fencing_file": str(fencing_file), "ceilings": {"fencing_seconds": 5},
                                   "ha_enabled_metadata_key": HA_KEY, "coordination_url": coordination_url,
                                   "host_failure": {"evacuate_all_instances": False},
                                   "retry": {"recheck_interval_seconds": 1}}, {})
        with open_journal(f"sqlite:///{self.tmp_path / f'journal-{uuid.uuid4().hex[:6]}.db'}") as journal:
            run = Driver(self.conn, journal, settings, utc_now, wait=time.sleep).run(notification)
            detail = journal.get_notification(str(notification.id))
        assert detail is not None
        return run, detail

    def bmc(self, host: str) -> BmcAccess:
        return load_fencing_config(self.layout.fencing_yaml)[host]


@pytest.fixture
def fenced(cloud_layout: Layout, tmp_path: Path) -> Iterator[Fenced]:
    conn = catalog.connect(cloud_layout, "vmha-admin", compute_microversion=COMPUTE_MICROVERSION)
    aggregate = conn.compute.create_aggregate(name=f"vmha-test-fencing-{uuid.uuid4().hex[:8]}")
    try:
        for host in COMPUTE_HOSTS:
            conn.compute.add_host_to_aggregate(aggregate, host)
        conn.compute.set_aggregate_metadata(aggregate, {"vmha:recovery_method": "auto", "vmha:fencing": "required"})
        yield Fenced(conn, cloud_layout, aggregate.name, tmp_path)
    finally:
        for host in conn.compute.get_aggregate(aggregate).hosts or ():
            conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)
        conn.close()


def step_times(detail: NotificationDetail, step_id: str) -> list[tuple[datetime, datetime | None]]:
    return [(step.started_at, step.finished_at) for step in detail.steps if step.key.step_id == step_id]


def _nova_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def assert_fenced_then_evacuated(fenced: Fenced, host: str, servers: list[Any], run: FlowRun,
                                 detail: NotificationDetail) -> None:
    """The flow finished, the BMC reads off, and every server was evacuated only after fence_host ended."""
    assert run.status is NotificationStatus.FINISHED, run.outcomes
    assert power_driver(fenced.bmc(host)).power_state() is PowerState.OFF
    fence = run.of("fence_host")
    assert isinstance(fence, Done) and fence.result["powered_off"] is True
    [(_, fenced_at)] = step_times(detail, "fence_host")
    assert fenced_at is not None
    evacuations = step_times(detail, "evacuate_instance")
    assert len(evacuations) == len(servers) and all(started >= fenced_at for started, _ in evacuations)
    for server in servers:
        moved = fenced.conn.compute.get_server(server.id)
        assert moved.compute_host != host and moved.status == "ACTIVE"
        [evacuate] = [a for a in fenced.conn.compute.server_actions(server) if a.action == "evacuate"]
        # Nova's own record agrees with the journal (it keeps whole seconds)
        assert _nova_time(evacuate.start_time) >= fenced_at.replace(microsecond=0)
