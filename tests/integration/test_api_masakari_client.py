"""python-masakariclient, unchanged, against the gateway: the real `openstack segment ...`, `segment host ...`,
`notification ...` and `notification vmove ...` commands, then what Nova's aggregates and the journal hold.

The gateway is registered in Keystone as `instance-ha` in a region of its own, the region of the cloud the
commands use: they reach this gateway whatever else the catalog holds. The segment stays disabled, so
the consumers' intake ignores the notification the test posts; its host is a compute host that no segment holds
and that no other test is failing (the local cloud's four are shared with the other tests)."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.cloud.procs import wait_until
from vmha.api.inventory import found_segments
from vmha.cloud.nova import compute_service
from vmha.cloud.segments import disabled_reason, host_uuid
from vmha.functions import STEPS, intake
from vmha.journal import InstanceStatus, Journal, NewNotification, NotificationStatus

from .api_support import api_settings, serving
from .cli_support import OpenStackCli, remove_aggregate
from .runtime_support import Place

PAYLOAD = {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}


class Masakari(OpenStackCli):
    """The masakari CLI pointed at a gateway of its own, the gateway's journal and its connection (Nova 2.53)."""

    def __init__(self, env: dict[str, str], journal: Journal, conn: Any) -> None:
        super().__init__(env)
        self.journal, self.conn = journal, conn


@pytest.fixture
def masakari(cloud_layout: Layout, admin_conn: Any, tmp_path: Path) -> Iterator[Masakari]:
    suffix = uuid.uuid4().hex[:8]
    identity, place = admin_conn.identity, Place(tmp_path, admin_conn)
    region = identity.create_region(id=f"vmha-cli-{suffix}", description="vmha's masakariclient test")
    service = identity.create_service(name=f"vmha-cli-{suffix}", type="instance-ha")
    try:
        with serving(cloud_layout, api_settings(place), STEPS, intake) as api:
            identity.create_endpoint(service_id=service.id, interface="public", region_id=region.id,
                                     url=api.url + "/v1")
            env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(in_region(cloud_layout, region.id, tmp_path)),
                   "OS_CLOUD": "vmha-admin"}
            yield Masakari(env, api.gateway.services.journal, api.conn)
    finally:
        for endpoint in identity.endpoints(service_id=service.id):
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)
        identity.delete_region(region)
        place.delete()


def in_region(layout: Layout, region: str, folder: Path) -> Path:
    """A clouds.yaml whose vmha-admin cloud is in ``region`` (openstacksdk refuses regions a cloud does not list)."""
    clouds = yaml.safe_load(layout.clouds_yaml.read_text())
    clouds["clouds"]["vmha-admin"]["region_name"] = region
    path = folder / "clouds.yaml"
    path.write_text(yaml.safe_dump(clouds))
    return path


@pytest.fixture
def segment(admin_conn: Any) -> Iterator[str]:
    """A unique segment name; whatever aggregate has it is removed afterwards."""
    name = f"vmha-cli-{uuid.uuid4().hex[:8]}"
    yield name
    remove_aggregate(admin_conn, name)


def nova_compute(conn: Any, host: str) -> Any:
    service = compute_service(conn, host)
    assert service is not None, f"no nova-compute on {host}"
    return service


@contextlib.contextmanager
def disabled_by_a_recovery(conn: Any, host: str) -> Iterator[Callable[[], Any]]:
    """The (free, enabled) host's nova-compute disabled as a vmha recovery leaves it; yields a reader of the
    service; enabled again afterwards (by id: openstacksdk sends only the changed fields of a service object)."""
    service = nova_compute(conn, host)
    conn.compute.update_service(service.id, status="disabled",
                                disabled_reason=disabled_reason("test failure", uuid.uuid4()))
    try:
        yield lambda: nova_compute(conn, host)
    finally:
        conn.compute.update_service(service.id, status="enabled")


def free_host(conn: Any) -> str:
    """A compute host that no segment holds and whose nova-compute is enabled (no other test is failing it),
    waited for: the local cloud's four hosts are shared with the other tests."""
    def free() -> list[str]:
        taken = {name for found in found_segments(conn) for name in found.segment.members}
        enabled = {service.host for service in conn.compute.services(binary="nova-compute")
                   if service.status == "enabled"}
        return [host for host in reversed(COMPUTE_HOSTS) if host not in taken and host in enabled]
    assert wait_until(lambda: bool(free()), 600, 5), "every compute host is in another test's segment or disabled"
    return free()[0]


def test_segments_and_hosts_through_the_masakari_cli(masakari: Masakari, segment: str, admin_conn: Any) -> None:
    created = masakari.json("segment", "create", segment, "auto", "COMPUTE", "--is_enabled", "False",
                            "--description", "made by masakariclient")
    aggregate = admin_conn.compute.get_aggregate(admin_conn.compute.find_aggregate(segment).id)
    assert (created["uuid"], created["is_enabled"]) == (aggregate.uuid, False)
    assert aggregate.metadata == {"vmha:enabled": "false", "vmha:recovery_method": "auto",
                                  "vmha:service_type": "COMPUTE", "vmha:description": "made by masakariclient"}
    assert segment in [item["name"] for item in masakari.json("segment", "list")]
    updated = masakari.json("segment", "update", segment, "--recovery_method", "reserved_host")
    assert (updated["recovery_method"], masakari.json("segment", "show", segment)["description"]) == (
        "reserved_host", "made by masakariclient")
    assert "already exists" in masakari.refused("segment", "create", segment, "auto", "COMPUTE")

    host = free_host(admin_conn)
    added = masakari.json("segment", "host", "create", host, "COMPUTE", "SSH", segment, "--reserved", "True")
    assert (added["uuid"], added["reserved"], added["failover_segment_id"]) == (host_uuid(host), True, created["uuid"])
    assert "could not be found" in masakari.refused("segment", "host", "create", "compute99", "COMPUTE", "SSH", segment)
    masakari.json("segment", "host", "update", segment, host, "--type", "BAREMETAL", "--on_maintenance", "True")
    [listed] = masakari.json("segment", "host", "list", segment)
    assert (listed["name"], listed["type"], listed["on_maintenance"]) == (host, "BAREMETAL", True)
    shown = masakari.json("segment", "host", "show", segment, host)
    assert (shown["control_attributes"], shown["reserved"]) == ("SSH", True)
    aggregate = admin_conn.compute.get_aggregate(aggregate.id)
    assert aggregate.hosts == [host]
    assert {key: aggregate.metadata[key] for key in ("vmha:recovery_method", "vmha:reserved_hosts",
                                                     "vmha:maintenance_hosts", f"vmha:type:{host}",
                                                     f"vmha:control_attributes:{host}")} == {
        "vmha:recovery_method": "reserved_host", "vmha:reserved_hosts": host, "vmha:maintenance_hosts": host,
        f"vmha:type:{host}": "BAREMETAL", f"vmha:control_attributes:{host}": "SSH"}
    with disabled_by_a_recovery(masakari.conn, host) as nova_compute:
        released = masakari.json("segment", "host", "update", segment, host, "--on_maintenance", "False")
        assert released["on_maintenance"] is False
        assert (nova_compute().status, nova_compute().disabled_reason) == ("disabled", "test failure")

    busy = NewNotification(id=str(uuid.uuid4()), type="COMPUTE_HOST", hostname=host, generated_time=datetime.now(UTC),
                           payload=dict(PAYLOAD), source="test", segment=segment)
    masakari.journal.record_notification(busy, dedup_window=timedelta(0), terminal_within=timedelta(hours=1))
    assert "in use to process notifications" in masakari.refused("segment", "host", "delete", segment, host)
    masakari.journal.set_status(busy.id, NotificationStatus.IGNORED, "test")

    masakari.ok("segment", "host", "delete", segment, host)
    aggregate = admin_conn.compute.get_aggregate(aggregate.id)
    assert aggregate.hosts == [] and not any(key.endswith(f":{host}") for key in aggregate.metadata)
    assert aggregate.metadata["vmha:reserved_hosts"] == aggregate.metadata["vmha:maintenance_hosts"] == ""
    masakari.ok("segment", "delete", segment)
    assert admin_conn.compute.find_aggregate(segment) is None


def test_notifications_and_vmoves_through_the_masakari_cli(
        masakari: Masakari, segment: str, admin_conn: Any) -> None:
    masakari.json("segment", "create", segment, "auto", "COMPUTE", "--is_enabled", "False")
    host = free_host(admin_conn)
    masakari.json("segment", "host", "create", host, "COMPUTE", "SSH", segment)
    generated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    posted = masakari.json("notification", "create", "COMPUTE_HOST", host, generated, json.dumps(PAYLOAD))
    nid = posted["notification_uuid"]
    assert wait_until(lambda: masakari.json("notification", "show", nid)["status"] == "ignored", 60, 0.5)
    record = masakari.journal.get_notification_record(nid)
    assert record is not None and (record.hostname, record.segment, record.status) == (
        host, segment, NotificationStatus.IGNORED)
    listed = masakari.json("notification", "list", "--filters", f"source_host_uuid={host_uuid(host)};status=ignored")
    assert [item["notification_uuid"] for item in listed] == [nid]
    assert masakari.json("notification", "list", "--filters", "type=VM") == []

    servers = sorted(str(uuid.uuid4()) for _ in range(2))
    masakari.journal.record_instance_progress(nid, servers[0], InstanceStatus.SUCCEEDED, source_host=host,
                                              dest_host="compute1")
    masakari.journal.record_instance_progress(nid, servers[1], InstanceStatus.FAILED, source_host=host,
                                              message="no valid host")
    vmoves = masakari.json("notification", "vmove", "list", nid, "--sort", "status:asc")
    assert [(vmove["server_id"], vmove["status"]) for vmove in vmoves] == [(servers[1], "failed"),
                                                                           (servers[0], "succeeded")]
    failed = masakari.json("notification", "vmove", "list", nid, "--filters", "status=failed")
    assert [vmove["uuid"] for vmove in failed] == [servers[1]]
    shown = masakari.json("notification", "vmove", "show", nid, servers[0])
    assert (shown["dest_host"], shown["type"], shown["source_host"]) == ("compute1", "evacuation", host)
    assert "not found" in masakari.refused("notification", "vmove", "show", nid, str(uuid.uuid4()))
    masakari.ok("segment", "delete", segment)
