"""The operator guide's registration and day-to-day commands, as operators run them: the gateway registered
with `vmha register-endpoint` (in a region of the test's own), an EC2
credential made with `openstack ec2 credentials create` and used by boto3, then `openstack vmha segment
capacity`, `host failover-plan` and `report` with only a clouds.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import Layout
from vmha.functions import STEPS, intake

from .api_support import Running, api_settings, serving
from .cli_support import OpenStackCli, gateway_in_catalog
from .recovery_support import segment
from .runtime_support import Place
from .test_rto_report import record_recovery


@pytest.fixture
def registered(cloud_layout: Layout, admin_conn: Any,
               tmp_path: Path) -> Iterator[tuple[OpenStackCli, OpenStackCli, Running]]:
    place = Place(tmp_path, admin_conn)
    try:
        with serving(cloud_layout, api_settings(place), STEPS, intake) as api, \
                gateway_in_catalog(cloud_layout, admin_conn, api.url, tmp_path) as (admin, osc):
            yield admin, osc, api
    finally:
        place.delete()


def test_capacity_plan_report_and_lambda_through_the_registered_gateway(
    registered: tuple[OpenStackCli, OpenStackCli, Running], admin_conn: Any
) -> None:
    admin, osc, api = registered
    made = json.loads(admin.ok("ec2", "credentials", "create", "-f", "json"))
    try:
        listed = api.lambda_client(key=(made["access"], made["secret"])).list_functions()
    finally:
        admin.ok("ec2", "credentials", "delete", made["access"])
    assert "fence_host" in {item["FunctionName"] for item in listed["Functions"]}
    with segment(admin_conn, ("compute1", "compute2"), {"vmha:recovery_method": "auto",
                                                         "vmha:rto_seconds": "300"}) as aggregate:
        [capacity] = osc.json("segment", "capacity", aggregate.name, "--failures", "1")
        planning = osc.run("host", "failover-plan", "compute1", "-f", "json")
        recovery = record_recovery(api.gateway.services.settings.journal_url, aggregate.name, 90, 1)
        [report] = osc.json("report", "--segment", aggregate.name)
    assert (capacity["Segment"], capacity["Absorbs"], capacity["Lost Hosts"]) == (aggregate.name, True, ["compute1"])
    assert capacity["Target Hosts"] == ["compute2"] and capacity["Headroom MEMORY_MB"] > 0
    assert planning.stdout, planning.stderr
    plan = json.loads(planning.stdout)
    assert planning.returncode == 1, "the gateway has no fencing file: the plan cannot fence, so it fails"
    assert (plan["Segment"], plan["Succeeds"]) == (aggregate.name, False)
    assert any(check.startswith("FAILS fencing: compute1 has no BMC") for check in plan["Checks"]), plan["Checks"]
    assert (report["Segment"], report["Objective (s)"], report["Recoveries"], report["Met"]) == (
        aggregate.name, 300, 1, 1), recovery
    assert 89 <= report["Median All Active (s)"] < 120
    assert osc.refused("host", "failover-plan", "compute99") == (
        "the gateway refused (404): Nova has no nova-compute service on compute99")
    assert "failures must be a whole number" in osc.refused("segment", "capacity", "--failures", "0")
