"""Confirmations woken by Nova's versioned notifications (issue 20): a real `vmha gateway` hearing the local
cloud's Nova on RabbitMQ settles an evacuated server on the look its notification woke, although its polls are
set a minute apart; with the broker's URL wrong, the same recovery completes by polling alone."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cloud import helpers
from tests.cloud.layout import Layout
from vmha.journal import InstanceStatus, NotificationStatus

from .recovery_support import HA, Recoveries, segment
from .test_recovery_e2e import AUTO, FAILED, HOST_DOWN, HOSTS

pytestmark = pytest.mark.integration

WOKEN = "held look woken by Nova's news"
DEAF = "not hearing Nova's notifications; confirmations poll"
_COUNT = re.compile(r'^vmha_nova_notifications_total\{outcome="(\w+)"\} (\S+)$', re.MULTILINE)
POLL_SECONDS = 60.0
"""The confirmations' polls while Nova is heard: far longer than the fake driver's evacuation."""


def _recovered(admin_conn: Any, layout: Layout, work: Path, transport_url: str) -> tuple[
        str, list[dict[str, Any]], dict[str, float]]:
    """One HA server on FAILED evacuated by one gateway hearing Nova at ``transport_url``, the recovery checked
    finished with the server succeeded: the server's uuid, the gateway's log lines and its
    vmha_nova_notifications_total counts by outcome."""
    recoveries = Recoveries(work, admin_conn, layout, host_failure={"evacuate_all_instances": False},
                            gateway={"claim_ttl_seconds": 300},
                            nova_notifications={"transport_url": transport_url, "poll_seconds": POLL_SECONDS,
                                                "timeout_seconds": 2})
    try:
        with segment(admin_conn, HOSTS, AUTO, prefix="vmha-news"):
            [server] = helpers.boot_servers(admin_conn, FAILED, 1, f"vmha-news-{uuid.uuid4().hex[:6]}", metadata=HA)
            try:
                gateway = recoveries.start()
                recoveries.wait_ready(gateway)
                helpers.kill_host(layout, FAILED)
                detail = recoveries.wait_ended(recoveries.notify(FAILED, HOST_DOWN))
                counts = _nova_counts(recoveries.url_of(gateway))
            finally:
                helpers.restore_host(layout, admin_conn, FAILED)
                helpers.delete_servers(admin_conn, [server])
        text = recoveries.log_of(gateway)
    finally:
        recoveries.close()
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert [(item.instance_uuid, item.status) for item in detail.instances] == [(server.id, InstanceStatus.SUCCEEDED)]
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return server.id, lines, counts


def _nova_counts(url: str) -> dict[str, float]:
    """The gateway's vmha_nova_notifications_total by outcome, scraped from its /metrics at ``url``."""
    scraped = requests.get(f"{url}/metrics", timeout=10).text
    return {outcome: float(value) for outcome, value in _COUNT.findall(scraped)}


def test_a_notification_wakes_the_confirmation_that_settles_the_server(
        admin_conn: Any, cloud_layout: Layout, tmp_path: Path) -> None:
    server, lines, counts = _recovered(admin_conn, cloud_layout, tmp_path, cloud_layout.transport_url)
    looks = [(line["message"], line.get("outcome")) for line in lines
             if line.get("instance_uuid") == server and (
                 line["message"] == WOKEN or (line["message"] == "step ran"
                                              and line.get("step") == "confirm_instance_evacuated"))]
    # a look found the server busy; from then on every look was one Nova's news ran early (polls are a minute
    # apart), and only the news of the move woke one (the rebuild's end names the failed host): that look settled it
    assert looks[0] == ("step ran", "Retry") and looks[-1] == ("step ran", "Done"), looks
    assert looks.count((WOKEN, None)) == 1, looks
    assert looks[1::2] == [(WOKEN, None)] * (len(looks) // 2), looks
    assert all(message == "step ran" for message, _ in looks[::2]), looks
    assert not any(line["message"] == DEAF for line in lines)
    assert counts["heard"] >= 2 and counts["woken"] >= 1 and counts["failures"] == 0, counts


def test_with_the_broker_out_of_reach_the_confirmation_polls_and_the_recovery_completes(
        admin_conn: Any, cloud_layout: Layout, tmp_path: Path) -> None:
    _, lines, counts = _recovered(admin_conn, cloud_layout, tmp_path, "rabbit://vmha:wrong@127.0.0.1:9/")
    messages = [line["message"] for line in lines]
    assert DEAF in messages and WOKEN not in messages
    assert counts["heard"] == counts["woken"] == 0 and counts["failures"] >= 1, counts
