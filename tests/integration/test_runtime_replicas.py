"""Several consumers on the same queues: exactly-once effects, and a killed gateway process's claimed message
and running step taken over by another process within seconds, long before its claim would expire (Zaqar
pushes waking consumers: test_api_webhooks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.runtime_steps import instances
from vmha.contracts import StepMessage
from vmha.journal import NotificationStatus, open_journal

from .runtime_support import Place, running, wait_ended

ROOT = Path(__file__).resolve().parents[2]


def test_two_runtimes_on_the_same_queues_run_every_step_once(place: Place) -> None:
    first, second = place.services(place.settings()), place.services(place.settings())
    with running(first), running(second):
        ids = [place.notify("flow:ok,fan,each,join") for _ in range(4)]
        details = [wait_ended(first.journal, nid) for nid in ids]
    assert {detail.notification.status for detail in details} == {NotificationStatus.FINISHED}
    expected = Counter({("ok", "-"): 4, ("fan", "-"): 4, ("join", "-"): 4})
    for nid in ids:
        fanned = instances(StepMessage(uuid.UUID(nid), "fan", 1, ("fan",), 0, datetime.now(UTC)))
        expected.update({("each", str(instance)): 1 for instance in fanned})
    assert place.effects.counts() == expected


def gateway_process(place: Place, layout: Layout, log: Path) -> subprocess.Popen[bytes]:
    environment = {**os.environ, **place.environment(), "PYTHONPATH": str(ROOT),
                   "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "OS_CLOUD": "vmha-admin"}
    with log.open("ab") as output:
        return subprocess.Popen([str(Path(sys.executable).parent / "vmha"), "gateway"], cwd=ROOT, env=environment,
                                stdout=output, stderr=subprocess.STDOUT)


def test_a_killed_gateway_process_leaves_its_step_to_another_within_seconds(
    place: Place, cloud_layout: Layout, tmp_path: Path
) -> None:
    processes = [gateway_process(place, cloud_layout, tmp_path / f"gateway-{n}.log") for n in range(2)]
    try:
        nid = place.notify("flow:ok,slow,ok2")
        assert wait_until(lambda: any(step == "slow-started" for step, _, _ in place.effects.lines()), 60, 0.1)
        [runner] = [int(pid) for step, _, pid in place.effects.lines() if step == "slow-started"]
        os.kill(runner, signal.SIGKILL)
        killed_at = time.monotonic()
        next(process for process in processes if process.pid == runner).wait()  # reaped, as systemd would
        with open_journal(place.journal_url) as journal:
            detail = wait_ended(journal, nid, timeout=180)
        taken_over_after = time.monotonic() - killed_at
        survivor = next(process for process in processes if process.pid != runner)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(60) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert detail.notification.status is NotificationStatus.FINISHED
    lines = place.effects.lines()
    assert Counter(step for step, _, _ in lines) == Counter({"ok": 1, "slow-started": 2, "slow": 1, "ok2": 1})
    assert {pid for step, _, pid in lines if step == "slow"} == {str(survivor.pid)}
    # the survivor saw the dead replica's process gone (same machine) within two beats (2 s each), released
    # its claim and ended its step's lease (20 s + 10 s margin): not the claim's 60 s, nor the lease's 30 s
    assert taken_over_after < 20, f"flow finished {taken_over_after:.1f} s after the SIGKILL"
    with open_journal(place.journal_url) as journal:
        assert journal.heartbeats() == ()  # the survivor left, the dead one was taken over
    print(f"flow finished {taken_over_after:.1f} s after the SIGKILL (claim TTL 60 s)")
