"""The fuzz benchmark in a small size (a few hundred inputs through every door), so it never rots.

It asserts what must hold at any size: no 5xx from the gateway and no message left undecided in the
queues; the figures (10,000 inputs, RSS) come from `python -m tests.bench.fuzz`, not from tests.
"""

from __future__ import annotations

import io
import json

from tests.bench import fuzz
from tests.cloud.layout import Layout


def test_fuzzed_inputs_get_no_5xx_and_leave_no_message_undecided(cloud_layout: Layout) -> None:
    results = fuzz.measure(cloud_layout, 350, seed=7, clients=4, drain_seconds=60, warmup=35)
    out = io.StringIO()
    fuzz.print_results(results, out)
    document = json.loads(json.dumps(fuzz.document(results, {"count": 350})))

    assert results.server_errors == 0, out.getvalue()
    assert results.undecided == {"notifications": 0, "steps": 0}, out.getvalue()
    assert results.logged["request failed"] == 0, out.getvalue()
    assert all(sum(seen.values()) == 50 for seen in results.statuses.values()), out.getvalue()
    assert all(400 in seen for seen in results.statuses.values()), out.getvalue()
    assert results.dead_letters > 0 and document["gateway_5xx"] == 0
