"""The recovery benchmark in its smallest size (10 servers, one iteration, auto, fenced through Redfish), so it
never rots.

It asserts that the benchmark completed and recovered every server, never how fast: figures come from
`python -m tests.bench.recovery`, not from tests.
"""

from __future__ import annotations

import io
import json

from tests.bench import fencing, recovery
from tests.cloud.layout import Layout
from vmha.contracts import RecoveryMethod


def test_recovery_benchmark_completes_and_recovers_every_server(cloud_layout: Layout) -> None:
    out = io.StringIO()
    # Every evacuation in flight at once: the smoke checks completeness, and this keeps it short in CI.
    results = recovery.measure(cloud_layout, [10], [RecoveryMethod.AUTO], 1, out, parallel=10,
                               kinds=[fencing.KINDS["redfish"]])
    recovery.print_results(results, out)
    document = json.loads(json.dumps(recovery.document(results, {"servers": [10]})))

    (run,) = results.runs
    assert (run.scenario, run.servers, run.recovered) == ("host auto 10 redfish", 10, 10), out.getvalue()
    assert run.rto_seconds is not None and run.fenced is not None and run.phases is not None
    assert run.fenced.method == "redfish" and run.host in fencing.KINDS["redfish"].hosts(cloud_layout)
    assert None not in (run.phases.fence, run.phases.evacuation)
    assert {span.step for span in run.spans} >= {"intake", "fence_host", "disable_compute_service",
                                                 "plan_evacuation", "evacuate_instance", "confirm_instance_evacuated"}
    assert [item["scenario"] for item in document["summaries"]] == ["host auto 10 redfish"]
    assert document["runs"][0]["recovered"] == 10
    assert set(document["phase_medians_seconds"]["host auto 10 redfish"]) == {"detection", "fence", "evacuation"}
    assert "host auto 10 redfish  1/1" in out.getvalue()
