"""The guest-heartbeat benchmark (hung guest agent -> server restarted) in one iteration, so it never rots.

It asserts that the introspective monitor reported the hang and vmha restarted the server, never how fast:
figures come from `python -m tests.bench.guest_heartbeat`, not from tests.
"""

from __future__ import annotations

import io
from pathlib import Path

from tests.bench import guest_heartbeat
from tests.bench.recovery import print_run
from tests.cloud.layout import Layout


def test_guest_heartbeat_benchmark_restarts_the_hung_server(cloud_layout: Layout, tmp_path: Path) -> None:
    run = guest_heartbeat.run(cloud_layout, tmp_path, timeout=300.0)
    out = io.StringIO()
    print_run(run, "guest agent hung", out)

    assert (run.scenario, run.servers, run.recovered) == ("vm heartbeat", 1, 1), out.getvalue()
    assert run.rto_seconds is not None
    assert run.verdict == "finished", out.getvalue()
    steps = [span.step for span in run.spans]
    assert steps[0] == "detection"
    assert set(steps) >= {"intake", "stop_instance", "start_instance"}, out.getvalue()
    assert any(span.step == "nova reboot" for span in run.nova), out.getvalue()  # the hung guest hard-rebooted
