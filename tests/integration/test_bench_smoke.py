"""The recovery benchmark in its smallest size (5 servers, one iteration, auto, fenced through Redfish, after
Nova's floor for 5 servers and its locked floor), so it never rots.

It asserts that the benchmark completed and recovered every server, never how fast: figures come from
`python -m tests.bench.recovery`, not from tests.
"""

from __future__ import annotations

import io
import json

from tests.bench import fencing, floor, nova_watch, recovery
from tests.cloud.layout import Layout
from vmha.contracts import RecoveryMethod


def test_recovery_benchmark_completes_and_recovers_every_server(cloud_layout: Layout) -> None:
    out, watch = io.StringIO(), nova_watch.watching(cloud_layout)
    assert watch is not None, "the benchmark hears Nova's notifications instead of polling it"
    heard_before = watch.servers_heard
    # Every evacuation in flight at once: the smoke checks completeness, and this keeps it short in CI.
    results = recovery.measure(cloud_layout, [5], [RecoveryMethod.AUTO], 1, out, parallel=5,
                               kinds=[fencing.KINDS["redfish"]], locked_floor=True)
    recovery.print_results(results, out)
    document = json.loads(json.dumps(recovery.document(results, {"servers": [5]})))

    below, locked, run = results.runs
    assert watch.listening and watch.servers_heard >= heard_before + 15  # 5 servers booted for each of the 3 runs
    assert (below.scenario, below.servers, below.recovered) == ("floor 5", 5, 5), out.getvalue()
    assert below.rto_seconds is not None and below.verdict == "5/5 evacuations accepted"
    assert (locked.scenario, locked.recovered, locked.verdict) == ("floor locked 5", 5,
                                                                   "5/5 evacuations accepted, 5 unlocked")
    assert [span.step for span in below.spans] == [floor.REQUESTS] and "nova evacuate" in {s.step for s in below.nova}
    assert (run.scenario, run.servers, run.recovered) == ("host auto 5 redfish", 5, 5), out.getvalue()
    assert run.rto_seconds is not None and run.fenced is not None and run.phases is not None
    assert run.gateway_cpu_seconds is not None and run.gateway_cpu_seconds > 0
    for measured in (below, locked, run):  # what the cloud's own processes spent, Nova's services among them
        assert measured.cloud_cpu is not None and 0 < measured.cloud_cpu.nova < measured.cloud_cpu.control_plane
    assert run.fenced.method == "redfish" and run.host in fencing.KINDS["redfish"].hosts(cloud_layout)
    assert None not in (run.phases.fence, run.phases.evacuation)
    assert {span.step for span in run.spans} >= {"intake", "fence_host", "disable_compute_service",
                                                 "plan_evacuation", "evacuate_instance", "confirm_instance_evacuated"}
    assert [item["scenario"] for item in document["summaries"]] == ["floor 5", "floor locked 5", "host auto 5 redfish"]
    host = document["summaries"][2]
    assert host["floor_seconds"] == below.rto_seconds and host["floor_ratio"] == run.rto_seconds / below.rto_seconds
    assert locked.rto_seconds is not None and host["locked_floor_ratio"] == run.rto_seconds / locked.rto_seconds
    assert host["cpu_per_server"] == run.gateway_cpu_seconds / 5
    assert run.cloud_cpu is not None and host["nova_cpu_seconds"] == run.cloud_cpu.nova
    assert [item["recovered"] for item in document["runs"]] == [5, 5, 5]
    assert set(document["phase_medians_seconds"]["host auto 5 redfish"]) == {"detection", "fence", "evacuation"}
    assert "host auto 5 redfish  1/1" in out.getvalue() and "x of " in out.getvalue()
    hops = document["pipeline_overhead_seconds"]  # per scenario; issue 20's targets are for 10 and 50 servers
    assert list(hops) == ["host auto 5 redfish"] and hops["host auto 5 redfish"]["hops"] == len(run.hops) > 0
    assert hops["host auto 5 redfish"]["target_p99"] is None and "pipeline overhead per step hop:" in out.getvalue()
