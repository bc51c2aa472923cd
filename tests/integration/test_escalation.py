"""The escalation alarm end to end on the local cloud: the stack's recovery_failed alarm (real Heat and
Aodh) fires when vmha publishes vmha.notification.failed (vmha.escalation, on the cloud's RabbitMQ, made an
event by Ceilometer's notification agent) and calls the operators' URL, naming the failed notification."""

from __future__ import annotations

import uuid
from typing import Any

from tests.cloud.layout import Layout
from tests.cloud.webhook import WebhookRecorder
from vmha.deploy import StackRequest, delete, deploy
from vmha.escalation import EVENT_TYPE, FailedRecovery, publish
from vmha.heat import environment_path


def test_a_failed_recovery_calls_the_operators_through_the_deployed_alarm(cloud_layout: Layout,
                                                                          admin_conn: Any) -> None:
    name = f"escalation-{uuid.uuid4().hex[:8]}"
    with WebhookRecorder() as operators:
        request = StackRequest(name, environments=(environment_path("local-cloud"),), webhook_secret="s",
                               parameters={"queue_prefix": name, "segments": [],
                                           "escalation_url": operators.url("/page-the-operators")})
        try:
            deployed = deploy(admin_conn, request, lambda line: None)
            alarm_id = deployed.alarm_ids["recovery_failed"]
            assert alarm_id and deployed.alarm_ids["instance_error"]
            failed = FailedRecovery(str(uuid.uuid4()), "COMPUTE_HOST", "compute1", "no spare host left",
                                    admin_conn.current_project_id)
            publish(cloud_layout.transport_url, failed)
            [call] = operators.wait_for("/page-the-operators", timeout=60)
        finally:
            delete(admin_conn, name, lambda line: None)
    body = call.json()
    event = body["reason_data"]["event"]
    traits = {trait: value for trait, _kind, value in event["traits"]}
    assert (body["alarm_id"], body["current"], body["severity"]) == (alarm_id, "alarm", "critical")
    assert (event["event_type"], event["message_id"]) == (EVENT_TYPE, failed.notification_id)
    assert traits["project_id"] == admin_conn.current_project_id
