"""`openstack vmha ...` as operators run it: the real `openstack` command (python-openstackclient with the
vmha plugin) with nothing but a clouds.yaml, against a real gateway registered in Keystone as `instance-ha`
in a region of its own; output read with `-f json`, then what Nova's aggregates and the journal hold. Bad
input and a catalog without the gateway get one clear line and a non-zero exit, never a table."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.cloud.segments import Fencing
from vmha.flows import HOST_RESERVED, VM
from vmha.functions import STEPS, intake
from vmha.journal import InstanceStatus, NewNotification, NotificationStatus

from .api_support import Running, api_settings, serving
from .cli_support import OpenStackCli, clouds_yaml, remove_aggregate
from .runtime_support import Place
from .test_api_masakari_client import free_host

PAYLOAD = {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}


class Osc(OpenStackCli):
    """`openstack vmha` with a clouds.yaml whose cloud lists two regions: the gateway's (the default) and one
    without an instance-ha endpoint; the gateway's journal, to check what the commands did."""

    def __init__(self, env: dict[str, str], api: Running, regions: tuple[str, str]) -> None:
        super().__init__(env, "vmha")
        self.api, self.journal, (self.region, self.empty_region) = api, api.gateway.services.journal, regions


@pytest.fixture
def osc(cloud_layout: Layout, admin_conn: Any, tmp_path: Path) -> Iterator[Osc]:
    suffix = uuid.uuid4().hex[:8]
    identity, place = admin_conn.identity, Place(tmp_path, admin_conn)
    region = identity.create_region(id=f"vmha-osc-{suffix}", description="vmha's OSC plugin test")
    empty = identity.create_region(id=f"vmha-osc-empty-{suffix}", description="no instance-ha endpoint")
    service = identity.create_service(name=f"vmha-osc-{suffix}", type="instance-ha")
    try:
        with serving(cloud_layout, api_settings(place), STEPS, intake) as api:
            identity.create_endpoint(service_id=service.id, interface="public", region_id=region.id,
                                     url=api.url + "/v1")
            env = {key: value for key, value in os.environ.items() if not key.startswith(("OS_", "VMHA_"))}
            env |= {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml(cloud_layout, (region.id, empty.id), tmp_path)),
                    "OS_CLOUD": "vmha-admin"}
            yield Osc(env, api, (region.id, empty.id))
    finally:
        for endpoint in identity.endpoints(service_id=service.id):
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)
        identity.delete_region(region)
        identity.delete_region(empty)
        place.delete()


@pytest.fixture
def segment(admin_conn: Any) -> Iterator[str]:
    name = f"osc-test-{uuid.uuid4().hex[:8]}"
    yield name
    remove_aggregate(admin_conn, name)


def test_segments_and_their_hosts(osc: Osc, segment: str, admin_conn: Any) -> None:
    created = osc.json("segment", "create", segment, "--recovery-method", "rh_priority", "--disable",
                       "--description", "made by openstack vmha", "--fencing", "disabled")
    assert (created["Name"], created["Hosts"], created["Enabled"], created["Recovery Method"], created["Fencing"]) == (
        segment, [], False, "rh_priority", "disabled")
    aggregate = admin_conn.compute.find_aggregate(segment, ignore_missing=False)
    assert created["ID"] == aggregate.uuid
    assert (aggregate.metadata["vmha:enabled"], aggregate.metadata["vmha:fencing"]) == ("false", "disabled")
    assert segment in [item["Name"] for item in osc.json("segment", "list")]
    host = free_host(admin_conn)
    osc.ok("host", "add", segment, host, "--reserved")
    osc.ok("host", "set", segment, host, "--maintenance")
    osc.ok("segment", "set", segment, "--recovery-method", "reserved_host", "--fencing", "required")
    shown = osc.json("segment", "show", segment)
    assert shown == {**created, "Hosts": [host], "Reserved Hosts": [host], "Maintenance Hosts": [host],
                     "Recovery Method": "reserved_host", "Fencing": "required"}
    aggregate = admin_conn.compute.get_aggregate(aggregate.id)
    assert aggregate.hosts == [host]
    assert (aggregate.metadata["vmha:reserved_hosts"], aggregate.metadata["vmha:maintenance_hosts"],
            aggregate.metadata["vmha:recovery_method"], aggregate.metadata["vmha:fencing"]) == (
        host, host, "reserved_host", "required")
    odd = osc.api.call("PUT", f"/v1/segments/{aggregate.uuid}/fencing", json={"fencing": "sometimes"})
    assert odd.status_code == 400 and f"one of {', '.join(Fencing)}" in odd.json()["badRequest"]["message"]
    assert osc.api.call("PUT", f"/v1/segments/{uuid.uuid4()}/fencing", json={"fencing": "disabled"}).status_code == 404
    assert admin_conn.compute.get_aggregate(aggregate.id).metadata["vmha:fencing"] == "required"
    [listed] = osc.json("host", "list", segment)
    assert (listed["Host"], listed["Reserved"], listed["Maintenance"], listed["Type"]) == (host, True, True, "COMPUTE")
    assert osc.ok("segment", "show", segment, "-f", "yaml", "-c", "Name", "-c", "Hosts") == (
        f"Name: {segment}\nHosts:\n- {host}\n")
    osc.ok("host", "remove", segment, host)
    assert admin_conn.compute.get_aggregate(aggregate.id).hosts == []
    assert osc.refused("host", "add", segment, "compute99") == (
        "the gateway refused (400): Compute service with name compute99 could not be found.")
    assert osc.refused("host", "set", segment, host, "--reserved") == f"{host} is not in segment {segment}"
    assert osc.refused("segment", "set", segment).startswith("nothing to set")
    assert "invalid choice: 'sideways'" in osc.refused("segment", "create", "x", "--recovery-method", "sideways")
    assert "already exists" in osc.refused("segment", "create", segment)
    osc.ok("segment", "delete", segment)
    assert admin_conn.compute.find_aggregate(segment) is None
    assert osc.refused("segment", "show", segment) == f"no vmha segment {segment}"


def test_a_segment_whose_host_is_refused_is_not_left_behind(osc: Osc, segment: str, admin_conn: Any) -> None:
    refused = osc.refused("segment", "create", segment, "--host", "compute99")
    assert refused.startswith(f"segment {segment} not created: the gateway refused (400)")
    assert admin_conn.compute.find_aggregate(segment) is None


def test_notifications_and_vmoves(osc: Osc, segment: str, admin_conn: Any) -> None:
    osc.json("segment", "create", segment, "--disable")  # disabled: intake ignores what the test reports
    host = free_host(admin_conn)
    osc.ok("host", "add", segment, host)
    created = osc.json("notification", "create", "COMPUTE_HOST", host, json.dumps(PAYLOAD))
    nid = created["ID"]
    assert (created["Type"], created["Host"], created["Payload"]) == ("COMPUTE_HOST", host, PAYLOAD)
    assert wait_until(lambda: osc.json("notification", "show", nid)["Status"] == "ignored", 60, 0.5)
    record = osc.journal.get_notification_record(nid)
    assert record is not None and (record.hostname, record.segment, record.status) == (
        host, segment, NotificationStatus.IGNORED)
    shown = osc.json("notification", "show", nid)
    assert (shown["Segment"], shown["Payload"]) == (segment, PAYLOAD)
    assert [step["step"] for step in shown["Steps"]] == ["intake"]
    assert all(event["step"] == "intake" for event in shown["Events"]) and shown["Events"]
    assert [row["ID"] for row in osc.json("notification", "list", "--host", host, "--status", "ignored")] == [nid]
    assert osc.json("notification", "list", "--host", host, "--type", "VM") == []
    assert osc.refused("notification", "create", "PROCESS", host, '{"event": "EXPLODED"}').startswith(
        "the gateway refused (400): ")
    assert osc.refused("notification", "show", str(uuid.uuid4())).startswith("the gateway refused (404): ")

    servers = sorted(str(uuid.uuid4()) for _ in range(2))
    osc.journal.record_instance_progress(nid, servers[0], InstanceStatus.SUCCEEDED, source_host=host,
                                         dest_host="compute1")
    osc.journal.record_instance_progress(nid, servers[1], InstanceStatus.FAILED, source_host=host,
                                         message="no valid host")
    moved = {row["Server"]: row for row in osc.json("notification", "vmove", "list", nid)}
    assert {server: row["Status"] for server, row in moved.items()} == {servers[0]: "succeeded",
                                                                        servers[1]: "failed"}
    vmove = osc.json("notification", "vmove", "show", nid, servers[0])
    assert (vmove["Source Host"], vmove["Dest Host"], vmove["Type"]) == (host, "compute1", "evacuation")
    instances = osc.json("notification", "show", nid)["Instances"]
    assert {item["server"]: item["message"] for item in instances}[servers[1]] == "no valid host"
    assert osc.refused("notification", "vmove", "show", nid, str(uuid.uuid4())).startswith(
        "the gateway refused (404)")
    osc.ok("segment", "delete", segment)


def test_functions_run_on_the_gateway(osc: Osc) -> None:
    functions = {row["Name"]: row for row in osc.json("function", "list")}
    assert set(functions) == {"intake", *STEPS}
    assert (functions["evacuate_instance"]["Per Instance"], functions["intake"]["Kind"]) == (True, "intake")
    notification = {"id": str(uuid.uuid4()), "source": "osc-test", "type": "PROCESS",
                    "hostname": f"no-host-{uuid.uuid4().hex[:8]}", "generated_time": "2026-01-01T00:00:00+00:00",
                    "payload": {"event": "STARTED", "process_name": "nova-compute"}}
    invoked = osc.json("function", "invoke", "intake", json.dumps(notification))
    assert (invoked["Function"], invoked["Status"], invoked["Output"]["outcome"]) == ("intake", "success", "ignore")
    execution = osc.journal.get_execution(invoked["Execution ID"])
    assert execution is not None and execution.input == notification
    assert osc.refused("function", "invoke", "no_such", "{}") == "the gateway refused (404): function no_such not found"
    step = json.dumps({"notification_id": str(uuid.uuid4()), "step": "fence_host"})
    assert osc.refused("function", "invoke", "fence_host", step).startswith(
        "the gateway refused (400): invalid input for fence_host")


def test_flows_are_the_gateways(osc: Osc) -> None:
    assert [row["Step"] for row in osc.json("flow", "show", "VM")] == list(VM.steps)
    reserved = osc.json("flow", "show", "COMPUTE_HOST", "--recovery-method", "rh_priority")
    assert [row["Step"] for row in reserved] == list(HOST_RESERVED.steps)
    assert [row["Position"] for row in reserved] == list(range(1, len(HOST_RESERVED.steps) + 1))
    evacuate = next(row for row in reserved if row["Step"] == "evacuate_instance")
    assert (evacuate["Kind"], evacuate["Per Instance"], evacuate["Timeout"]) == (
        "built-in", True, STEPS["evacuate_instance"].timeout_seconds)
    assert osc.refused("flow", "show", "VM", "--recovery-method", "auto") == (
        "the gateway refused (400): recovery_method applies to COMPUTE_HOST only")


def test_without_an_endpoint_every_command_says_so(osc: Osc) -> None:
    commands = [("segment", "list"), ("segment", "show", "x"), ("host", "list", "x"), ("notification", "list"),
                ("notification", "show", "x"), ("notification", "vmove", "list", "x"), ("function", "list"),
                ("function", "invoke", "intake", "{}"), ("flow", "show", "VM")]
    for command in commands:
        refused = osc.refused("--os-region-name", osc.empty_region, *command, "-f", "json")
        assert refused == (f"no instance-ha endpoint in the Keystone catalog for region {osc.empty_region}, "
                           "interface public: register the vmha gateway (README, The openstack vmha commands) "
                           "or choose its region with --os-region-name"), command
    assert osc.refused("--os-region-name", osc.region, "--os-interface", "internal", "segment", "list").startswith(
        f"no instance-ha endpoint in the Keystone catalog for region {osc.region}, interface internal")
    assert isinstance(osc.json("segment", "list"), list)


def test_a_busy_segment_is_refused_with_the_gateways_reason(osc: Osc, segment: str, admin_conn: Any) -> None:
    osc.json("segment", "create", segment, "--disable")
    host = free_host(admin_conn)
    osc.ok("host", "add", segment, host)
    busy = NewNotification(id=str(uuid.uuid4()), type="COMPUTE_HOST", hostname=host, generated_time=datetime.now(UTC),
                           payload=dict(PAYLOAD), source="test", segment=segment)
    osc.journal.record_notification(busy, dedup_window=timedelta(0), terminal_within=timedelta(hours=1))
    try:
        assert "in use to process notifications" in osc.refused("host", "remove", segment, host)
        assert "in use to process notifications" in osc.refused("segment", "set", segment, "--fencing", "disabled")
    finally:
        osc.journal.set_status(busy.id, NotificationStatus.IGNORED, "test")
    osc.ok("host", "remove", segment, host)
