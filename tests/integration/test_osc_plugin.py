"""`openstack vmha ...` as operators run it: the real `openstack` command (python-openstackclient with the
vmha plugin) against the local cloud, output read with `-f json`; bad input gets one clear line."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.contracts import load_settings
from vmha.functions import STEPS, intake
from vmha.journal import upgrade
from vmha.runtime import gateway

from .cli_support import OpenStackCli, remove_aggregate


class Osc(OpenStackCli):
    """Runs `openstack vmha` with the local cloud's credentials and a vmha journal and queues of its own."""

    def __init__(self, layout: Layout, tmp_path: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        super().__init__({**os.environ, "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "OS_CLOUD": "vmha-admin",
                          "VMHA_JOURNAL_URL": f"sqlite:///{tmp_path / 'journal.db'}",
                          "VMHA_QUEUES_NOTIFICATIONS": f"osc-{suffix}-notifications",
                          "VMHA_QUEUES_STEPS": f"osc-{suffix}-steps", "VMHA_QUEUES_DEAD_LETTERS": f"osc-{suffix}-dead",
                          "VMHA_GATEWAY_CLOUD": "vmha-admin", "VMHA_GATEWAY_LISTEN_HOST": "127.0.0.1",
                          "VMHA_GATEWAY_LISTEN_PORT": "0", "VMHA_GATEWAY_POLL_INTERVAL_SECONDS": "1"}, "vmha")


@pytest.fixture
def osc(cloud_layout: Layout, tmp_path: Path) -> Osc:
    made = Osc(cloud_layout, tmp_path)
    upgrade(made.env["VMHA_JOURNAL_URL"])  # as `vmha db upgrade` would: the plugin, a client, never migrates
    return made


@pytest.fixture
def segment(osc: Osc, admin_conn: Any) -> Iterator[str]:
    name = f"osc-test-{uuid.uuid4().hex[:8]}"
    yield name
    remove_aggregate(admin_conn, name)


def test_segments_and_their_hosts(osc: Osc, segment: str, admin_conn: Any) -> None:
    created = osc.json("segment", "create", segment, "--host", "compute3", "--recovery-method", "rh_priority")
    assert (created["Name"], created["Hosts"], created["Enabled"]) == (segment, ["compute3"], True)
    assert segment in [item["Name"] for item in osc.json("segment", "list")]
    osc.ok("host", "add", segment, "compute4", "--reserved")
    osc.ok("host", "set", segment, "compute3", "--maintenance")
    osc.ok("segment", "set", segment, "--disable", "--fencing", "required")
    shown = osc.json("segment", "show", segment)
    assert shown == {**created, "Hosts": ["compute3", "compute4"], "Reserved Hosts": ["compute4"],
                     "Maintenance Hosts": ["compute3"], "Enabled": False, "Fencing": "required"}
    aggregate = admin_conn.compute.find_aggregate(segment, ignore_missing=False)
    assert aggregate.metadata["vmha:reserved_hosts"] == "compute4"
    hosts = {row["Host"]: row for row in osc.json("host", "list", segment)}
    assert (hosts["compute4"]["Reserved"], hosts["compute3"]["Maintenance"]) == (True, True)
    assert hosts["compute3"]["Service Status"] in ("enabled", "disabled")
    osc.ok("host", "remove", segment, "compute4")
    assert osc.json("segment", "show", segment)["Reserved Hosts"] == []
    assert osc.refused("host", "add", segment, "no-such-host").startswith("Nova refused no-such-host")
    assert osc.refused("segment", "set", segment).startswith("nothing to set")
    assert "invalid choice: 'sideways'" in osc.refused("segment", "create", "x", "--recovery-method", "sideways")
    osc.ok("segment", "delete", segment)
    assert osc.refused("segment", "show", segment) == f"no vmha segment {segment}"


def test_functions_and_flows_are_the_step_table(osc: Osc) -> None:
    functions = {row["Name"]: row for row in osc.json("function", "list")}
    assert set(functions) == {"intake", *STEPS}
    assert functions["evacuate_instance"]["Per Instance"] is True
    assert [row["Step"] for row in osc.json("flow", "show", "VM")] == [
        "stop_instance", "start_instance", "confirm_instance_active"]
    assert osc.refused("flow", "show", "VM", "--recovery-method", "auto") == (
        "--recovery-method applies to COMPUTE_HOST only")
    assert osc.refused("function", "invoke", "no_such", "{}").startswith("no function no_such")


def test_notifications_reach_the_journal_and_show_their_progress(osc: Osc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", osc.env["OS_CLIENT_CONFIG_FILE"])
    settings = load_settings(None, osc.env)
    built = gateway.build(settings, STEPS, intake)
    stop = threading.Event()
    runner = threading.Thread(target=gateway.serve, args=(built, stop, 10.0), daemon=True)
    runner.start()
    try:
        payload = json.dumps({"event": "STARTED", "process_name": "nova-compute"})
        created = osc.json("notification", "create", "PROCESS", "compute3", payload)
        assert created["Queue"] == settings.queues.notifications
        nid = created["ID"]
        assert wait_until(lambda: built.services.journal.get_notification(nid) is not None, 60, 0.5)
        assert wait_until(lambda: osc.json("notification", "show", nid)["Status"] == "ignored", 60, 0.5)
    finally:
        stop.set()
        runner.join(30)
    listed = {row["ID"]: row for row in osc.json("notification", "list")}
    assert (listed[nid]["Type"], listed[nid]["Host"], listed[nid]["Progress"]) == ("PROCESS", "compute3", "100%")
    shown = osc.json("notification", "show", nid)
    assert shown["Payload"] == {"event": "STARTED", "process_name": "nova-compute"}
    assert any(event["step"] == "intake" for event in shown["Events"])
    invalid = osc.refused("notification", "create", "PROCESS", "compute3", '{"event": "EXPLODED"}')
    assert invalid.startswith("invalid notification: ")
    assert osc.refused("notification", "show", str(uuid.uuid4())).endswith("in the journal")


def test_invoking_intake_runs_the_function_here(osc: Osc) -> None:
    notification = {"id": str(uuid.uuid4()), "source": "osc-test", "type": "PROCESS", "hostname": "compute3",
                    "generated_time": "2026-01-01T00:00:00+00:00",
                    "payload": {"event": "STARTED", "process_name": "nova-compute"}}
    invoked = osc.json("function", "invoke", "intake", json.dumps(notification))
    assert (invoked["Function"], invoked["Outcome"]) == ("intake", "ignore")
    assert invoked["Request ID"].startswith("req-")
    step = {"notification_id": str(uuid.uuid4()), "step": "fence_host"}
    assert osc.refused("function", "invoke", "fence_host", json.dumps(step)).startswith("invalid event for fence_host")
