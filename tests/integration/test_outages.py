"""Outages ridden out (issue 15 item 3): Nova's API, Zaqar, the journal's database and etcd, each stopped for
``VMHA_TEST_OUTAGE_SECONDS`` (90 s: longer than a step's own retries last) while a real gateway recovers a
killed host, then started again. Every server is evacuated exactly once afterwards and left unlocked, the
notification finishes, nothing stays in the queues or goes to the dead letters, and the gateway never stops.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import Layout
from tests.outage_support import OUTAGES, ride_out
from vmha.journal import NotificationStatus

SECONDS = float(os.environ.get("VMHA_TEST_OUTAGE_SECONDS", "90"))


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_recovery_rides_out_an_outage(outage: str, admin_conn: Any, cloud_layout: Layout, tmp_path: Path) -> None:
    ridden = ride_out(admin_conn, cloud_layout, tmp_path, outage, SECONDS, say=print)
    notification = ridden.detail.notification
    print(f"{outage}: the recovery ended {ridden.ended_after_restart:.1f} s after it answered again")
    assert notification.status is NotificationStatus.FINISHED, notification.status_reason
    assert ridden.evacuations == (1,) * len(ridden.evacuations)
    assert ridden.moved == (True,) * len(ridden.moved)
    assert ridden.locked == (False,) * len(ridden.locked)
    assert (ridden.left_in_queues, ridden.dead_letters, ridden.gateway_alive) == (0, 0, True)
