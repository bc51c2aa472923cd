"""`openstack vmha segment capacity`, `host failover-plan` and `report` as operators run them: the real
`openstack` command with only a clouds.yaml, against a real gateway found in the Keystone catalog."""

from __future__ import annotations

import json
from typing import Any

from .recovery_support import segment
from .test_osc_plugin import Osc, osc  # noqa: F401 (osc: the fixture of a registered gateway)
from .test_rto_report import record_recovery


def test_capacity_plan_and_report_through_the_gateway(osc: Osc, admin_conn: Any) -> None:  # noqa: F811
    with segment(admin_conn, ("compute1", "compute2"), {"vmha:recovery_method": "auto",
                                                         "vmha:rto_seconds": "300"}) as aggregate:
        [capacity] = osc.json("segment", "capacity", aggregate.name, "--failures", "1")
        planning = osc.run("host", "failover-plan", "compute1", "-f", "json")
        recovery = record_recovery(osc.api.gateway.services.settings.journal_url, aggregate.name, 90, 1)
        [report] = osc.json("report", "--segment", aggregate.name)
    assert (capacity["Segment"], capacity["Absorbs"], capacity["Lost Hosts"]) == (aggregate.name, True, ["compute1"])
    assert capacity["Target Hosts"] == ["compute2"] and capacity["Headroom MEMORY_MB"] > 0
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
