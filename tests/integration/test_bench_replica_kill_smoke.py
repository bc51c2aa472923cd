"""The replica-kill benchmark's killed run in its smallest size (10 servers, auto, fenced through Redfish), so it
never rots.

It asserts what the run must show whatever its speed: every server recovered and evacuated once, one power-off
and one fence record, the killed replica taken over by the other, which ended the recovery. Figures come from
`python -m tests.bench.recovery --kill-replica`, not from tests.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from tests.bench import fencing, recovery, replica_kill
from tests.cloud.layout import Layout
from vmha.contracts import RecoveryMethod


def test_a_replica_killed_mid_recovery_is_taken_over_and_every_server_evacuated_once(
    cloud_layout: Layout, tmp_path: Path
) -> None:
    run = replica_kill.run(cloud_layout, tmp_path, RecoveryMethod.AUTO, 10, kill=True, kind=fencing.KINDS["redfish"])
    out = io.StringIO()
    recovery.print_run(run, "smoke", out)

    mark = run.takeover
    assert mark is not None, out.getvalue()
    assert (run.scenario, run.recovered, mark.pair) == (
        "host auto 10 replica killed redfish", 10, "host auto 10 redfish"), out.getvalue()
    assert run.rto_seconds is not None and run.fenced is not None and run.fenced.method == "redfish"
    assert mark.killed in replica_kill.REPLICAS and mark.killed_at is not None and mark.killed_at >= 4.0
    assert mark.taken_over_at is not None and mark.taken_over_at > mark.killed_at, out.getvalue()
    assert mark.once_each and len(mark.evacuations) == 10, out.getvalue()
    assert (mark.power_offs, mark.fences) == (1, 1), out.getvalue()
    [survivor] = [name for name in replica_kill.REPLICAS if name != mark.killed]
    assert mark.steps[survivor].get("finish_host_recovery") == 1, out.getvalue()
    ended: Counter[str] = Counter()
    for steps in mark.steps.values():
        ended.update(steps)
    once = ("guard_mass_failure", "fence_host", "disable_compute_service", "plan_evacuation", "finish_host_recovery")
    assert [ended[step] for step in once] == [1] * len(once), out.getvalue()
    # another engineer's HA server on the shared cloud's host is evacuated too
    assert ended["evacuate_instance"] == ended["confirm_instance_evacuated"] >= 10, out.getvalue()
