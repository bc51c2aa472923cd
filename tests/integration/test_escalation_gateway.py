"""A recovery that ends failed in a real `vmha gateway` calls the operators: the gateway publishes
vmha.notification.failed on the cloud's RabbitMQ (escalation.transport_url; the project is its own
credentials'), Ceilometer makes it an event, an Aodh event alarm of that project calls a loopback URL. The
simplest honest failure: a host failure on a host in no vmha segment, which the intake fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aodhclient import client as aodh_client

from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.cloud.webhook import Request, WebhookRecorder
from vmha.contracts import HostEvent, HostPayload, HostStatus
from vmha.escalation import EVENT_TYPE, PROGRESS_STEP
from vmha.journal import NotificationStatus

from .recovery_support import Recoveries

PATH = "/page-the-operators"


@pytest.fixture
def operators() -> Iterator[WebhookRecorder]:
    with WebhookRecorder() as recorder:
        yield recorder


@pytest.fixture
def alarm(admin_conn: Any, operators: WebhookRecorder) -> Iterator[dict[str, Any]]:
    """An escalation alarm as heat/alarms.yaml makes it, in the gateway's project, calling ``operators``."""
    alarms = aodh_client.Client("2", session=admin_conn.session)
    made = alarms.alarm.create({
        "name": f"vmha-escalation-{uuid.uuid4().hex[:8]}", "type": "event", "repeat_actions": True,
        "severity": "critical", "alarm_actions": [operators.url(PATH)],
        "event_rule": {"event_type": EVENT_TYPE, "query": []}})
    yield made
    alarms.alarm.delete(made["alarm_id"])


def calls_for(operators: WebhookRecorder, notification_id: str) -> list[Request]:
    """The alarm calls naming ``notification_id`` (the alarm sees every escalation event of the project)."""
    return [call for call in operators.received(PATH)
            if call.json()["reason_data"]["event"]["message_id"] == notification_id]


def test_a_recovery_that_ends_failed_in_the_gateway_calls_the_operators(
        tmp_path: Path, admin_conn: Any, cloud_layout: Layout, operators: WebhookRecorder,
        alarm: dict[str, Any]) -> None:
    recoveries = Recoveries(tmp_path, admin_conn, cloud_layout,
                            escalation={"transport_url": cloud_layout.transport_url})
    try:
        gateway = recoveries.start()
        recoveries.wait_ready(gateway)
        host = f"nowhere-{uuid.uuid4().hex[:6]}"
        notification_id = recoveries.notify(host, HostPayload(HostEvent.STOPPED, HostStatus.NORMAL))
        ended = recoveries.wait_ended(notification_id).notification
        assert wait_until(lambda: bool(calls_for(operators, notification_id)), 60, 0.2), (
            f"no alarm call for {notification_id}; gateway log: {recoveries.log_of(gateway)[-2000:]}")
        detail = recoveries.detail(notification_id)
    finally:
        recoveries.close()
    [call] = calls_for(operators, notification_id)
    body = call.json()
    event = body["reason_data"]["event"]
    traits = {trait: value for trait, _kind, value in event["traits"]}
    assert ended.status is NotificationStatus.FAILED and "is in no vmha segment" in (ended.status_reason or "")
    assert (body["alarm_id"], body["current"], event["event_type"]) == (alarm["alarm_id"], "alarm", EVENT_TYPE)
    assert traits["project_id"] == admin_conn.current_project_id
    assert [line.message for line in detail.events if line.step_id == PROGRESS_STEP] == [
        f"operators called: {EVENT_TYPE} published"]
