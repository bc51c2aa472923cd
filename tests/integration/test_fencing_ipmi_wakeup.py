"""pyghmi's lost wake-up, provoked on every request against the cloud's IPMI BMC emulator (``ipmi_race``, in a
process of its own), and its mend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cloud.layout import COMPUTE_HOSTS, Layout

HOST = COMPUTE_HOSTS[-1]  # the fake host whose BMC speaks IPMI
READS = 3


def _race(cloud_layout: Layout, mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "tests.integration.ipmi_race", mode, str(cloud_layout.fencing_yaml),
                           HOST, str(READS)], capture_output=True, text=True, timeout=120, check=True,
                          cwd=Path(__file__).parents[2])
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_without_the_mend_callers_sleep_on_answers_already_there(cloud_layout: Layout) -> None:
    found = _race(cloud_layout, "without")
    assert found["states"] == ["on"] * READS
    assert isinstance(found["asleep_on_a_queued_answer"], int) and found["asleep_on_a_queued_answer"] >= READS


def test_with_the_mend_no_caller_sleeps_on_an_answer_already_there(cloud_layout: Layout) -> None:
    found = _race(cloud_layout, "with")
    assert found == {"states": ["on"] * READS, "asleep_on_a_queued_answer": 0}
