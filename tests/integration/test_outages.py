"""Outages ridden out (issue 15 item 3): Nova's API, Zaqar, the journal's database and etcd, each stopped for
``VMHA_TEST_OUTAGE_SECONDS`` (30 s) while a real gateway recovers a killed host, then started again. The gateway's
steps retry for 14 s at most (``RETRY``; vmha's default is 75 s), so the outage outlasts them: a step that counted
the outage against its own retries would fail the recovery. Every server is evacuated exactly once afterwards and
left unlocked, the notification finishes, nothing stays in the queues or goes to the dead letters, and the gateway
never stops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import Layout
from tests.outage_support import OUTAGES, ride_out
from vmha.journal import NotificationStatus

SECONDS = float(os.environ.get("VMHA_TEST_OUTAGE_SECONDS", "30"))
RETRY = {"max_attempts": 4, "initial_delay_seconds": 2, "multiplier": 2}
RETRYING = sum(RETRY["initial_delay_seconds"] * RETRY["multiplier"] ** n for n in range(RETRY["max_attempts"] - 1))
"""How long a step's own retries last: 2 + 4 + 8 = 14 s."""


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_recovery_rides_out_an_outage(outage: str, admin_conn: Any, cloud_layout: Layout, tmp_path: Path) -> None:
    assert SECONDS > RETRYING, "the outage must outlast a step's own retries"
    ridden = ride_out(admin_conn, cloud_layout, tmp_path, outage, SECONDS, retry=RETRY, say=print)
    notification = ridden.detail.notification
    print(f"{outage}: the recovery ended {ridden.ended_after_restart:.1f} s after it answered again")
    assert notification.status is NotificationStatus.FINISHED, notification.status_reason
    assert ridden.evacuations == (1,) * len(ridden.evacuations)
    assert ridden.moved == (True,) * len(ridden.moved)
    assert ridden.locked == (False,) * len(ridden.locked)
    assert (ridden.left_in_queues, ridden.dead_letters, ridden.gateway_alive) == (0, 0, True)
