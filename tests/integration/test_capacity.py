"""Admission control and the failover plan on the real Placement and Nova, through a real gateway:
``GET /v1/capacity``, the ``/metrics`` headroom and ``GET /v1/hosts/{name}/failover-plan``. Servers with
flavors of hundreds of GB (the fake driver's hosts offer 800 GB of memory) make a host's loss too large for
its segment's other host, then a reserved host makes room for it."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import helpers
from tests.cloud.layout import Layout
from vmha import cli
from vmha.functions import STEPS, intake

from .api_support import Running, api_settings, serving
from .recovery_support import HA, segment
from .runtime_support import Place

BIG_MB, FILLER_MB = 600_000, 300_000
RULES = Path(__file__).resolve().parents[2] / "etc" / "prometheus" / "vmha.rules.yaml"


@contextmanager
def flavor(conn: Any, ram_mb: int) -> Iterator[str]:
    made = conn.compute.create_flavor(name=f"vmha-capacity-{uuid.uuid4().hex[:8]}", ram=ram_mb, vcpus=1, disk=0)
    try:
        yield made.name
    finally:
        conn.compute.delete_flavor(made, ignore_missing=True)


def capacity(api: Running, **query: Any) -> Any:
    answer = api.call("GET", "/v1/capacity", params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()["capacity"]


def test_a_host_too_large_for_its_segment_is_reported_until_a_reserved_host_makes_room(
    cloud_layout: Layout, admin_conn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    servers: list[Any] = []
    place = Place(tmp_path, admin_conn)
    with flavor(admin_conn, BIG_MB) as big, flavor(admin_conn, FILLER_MB) as filler, \
            segment(admin_conn, ("compute1", "compute2"), {"vmha:recovery_method": "auto"}) as aggregate, \
            serving(cloud_layout, api_settings(place), STEPS, intake) as api:
        try:
            servers += helpers.boot_servers(admin_conn, "compute1", 1, "vmha-capacity-big", metadata=HA,
                                            flavor_name=big)
            servers += helpers.boot_servers(admin_conn, "compute2", 1, "vmha-capacity-filler", flavor_name=filler)
            metrics = api.call("GET", "/metrics", token=None).text
            assert f'vmha_segment_absorbs{{segment="{aggregate.name}"}} 0.0' in metrics
            alerted = set(re.findall(r"\bvmha_\w+", RULES.read_text()))
            assert {name for name in alerted if f"# TYPE {name} " not in metrics} == set(), "alerts on no metric"

            [short] = capacity(api, segment=aggregate.name)
            assert (short["absorbs"], short["lost_hosts"], short["target_hosts"]) == (False, ["compute1"], ["compute2"])
            assert short["unplaced_servers"] == ["vmha-capacity-big-0"]
            assert short["demand"]["MEMORY_MB"] >= BIG_MB and short["headroom"]["MEMORY_MB"] < 0
            monkeypatch.setenv("VMHA_GATEWAY_CLOUD", "vmha-admin")
            assert cli.main(["status", "--once", "--journal-url", place.journal_url]) == 0
            assert (f"segment {aggregate.name}: CANNOT absorb the loss of compute1: no room for vmha-capacity-big-0"
                    in capsys.readouterr().out), "vmha status shows it too"

            admin_conn.compute.set_aggregate_metadata(aggregate, {"vmha:recovery_method": "auto_priority",
                                                                  "vmha:reserved_hosts": "compute3"})
            [room] = capacity(api, segment=aggregate.name)
            assert (room["absorbs"], room["target_hosts"]) == (True, ["compute2", "compute3"])

            [two] = capacity(api, segment=aggregate.name, failures=2)
            assert (two["absorbs"], sorted(two["lost_hosts"])) == (False, ["compute1", "compute2"])
            assert two["unplaced_servers"] == ["vmha-capacity-filler-0"], "the big one fits compute3, not both"
        finally:
            helpers.delete_servers(admin_conn, servers)


def test_bad_capacity_queries_get_a_clear_4xx(cloud_layout: Layout, admin_conn: Any, tmp_path: Path) -> None:
    with serving(cloud_layout, api_settings(Place(tmp_path, admin_conn)), STEPS, intake) as api:
        for query, status in (({"failures": "0"}, 400), ({"failures": "x" * 5000}, 400), ({"failures": "-1"}, 400),
                              ({"segment": f"vmha-none-{uuid.uuid4().hex[:6]}"}, 404)):
            answer = api.call("GET", "/v1/capacity", params=query)
            assert answer.status_code == status, (query, answer.text)
            assert answer.json()["error"]["message"]
        assert api.call("GET", "/v1/capacity", token=None).status_code == 401


def plan(api: Running, host: str) -> Any:
    answer = api.call("GET", f"/v1/hosts/{host}/failover-plan")
    assert answer.status_code == 200, answer.text
    return answer.json()["failover_plan"]


def test_the_failover_plan_says_what_a_failure_would_do_and_changes_nothing(
    cloud_layout: Layout, admin_conn: Any, tmp_path: Path
) -> None:
    settings = api_settings(Place(tmp_path, admin_conn))
    only_ha = dataclasses.replace(settings.host_failure, evacuate_all_instances=False)
    unfenced = dataclasses.replace(settings, host_failure=only_ha)
    servers: list[Any] = []
    with segment(admin_conn, ("compute1", "compute2"), {"vmha:recovery_method": "auto"}) as aggregate:
        try:
            for name, metadata in (("low", {**HA, "HA_Priority": "1"}), ("high", {**HA, "HA_Priority": "9"}),
                                   ("plain", {})):
                servers += helpers.boot_servers(admin_conn, "compute1", 1, f"vmha-plan-{name}", metadata=metadata)
            before = [(server.status, server.compute_host) for server in map(admin_conn.compute.get_server, servers)]
            with serving(cloud_layout, unfenced, STEPS, intake) as api:
                bare = plan(api, "compute1")
            fenced = dataclasses.replace(unfenced, fencing_file=str(cloud_layout.fencing_yaml))
            with serving(cloud_layout, fenced, STEPS, intake) as api:
                found = plan(api, "compute1")
            after = [(server.status, server.compute_host) for server in map(admin_conn.compute.get_server, servers)]
        finally:
            helpers.delete_servers(admin_conn, servers)
    assert (found["segment"], found["recovery_method"], found["fencing"]) == (aggregate.name, "auto", "required")
    assert [move["name"] for move in found["moves"]] == ["vmha-plan-high-0", "vmha-plan-low-0"]
    assert {move["target"] for move in found["moves"]} == {"compute2"}
    assert [(left["name"], left["reason"]) for left in found["left"]] == [("vmha-plan-plain-0", "not HA-enabled")]
    checks = {check["name"]: check for check in found["checks"]}
    assert all(check["ok"] for check in checks.values()) and found["succeeds"], checks
    assert "answers: power on" in checks["fencing"]["detail"]
    assert found["past_recoveries"] is None
    bare_checks = {check["name"]: check for check in bare["checks"]}
    assert (bare["succeeds"], bare_checks["fencing"]["ok"]) == (False, False)
    assert "no BMC in the fencing file" in bare_checks["fencing"]["detail"]
    assert after == before, "a plan changes nothing"


def test_a_plan_for_an_unknown_host_or_a_host_in_no_segment_is_refused(
    cloud_layout: Layout, admin_conn: Any, tmp_path: Path
) -> None:
    with serving(cloud_layout, api_settings(Place(tmp_path, admin_conn)), STEPS, intake) as api:
        unknown = api.call("GET", f"/v1/hosts/vmha-none-{uuid.uuid4().hex[:6]}/failover-plan")
        assert (unknown.status_code, "no nova-compute service" in unknown.json()["error"]["message"]) == (404, True)
        taken = {host for aggregate in admin_conn.compute.aggregates() for host in aggregate.hosts or ()
                 if any(key.startswith("vmha:") for key in aggregate.metadata or {})}
        free = next(host for host in ("compute4", "compute3", "compute2", "compute1") if host not in taken)
        outside = api.call("GET", f"/v1/hosts/{free}/failover-plan")
        assert (outside.status_code, "in no vmha segment" in outside.json()["error"]["message"]) == (409, True)
