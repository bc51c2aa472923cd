"""vmha's escalation event on the wire: oslo.messaging's messagingv2 envelope, with what Ceilometer needs
(the project in payload.tenant_id) and the notification's id as the message id; an unreachable broker is
a clear error."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import pytest

from vmha.escalation import EVENT_TYPE, EscalationError, FailedRecovery, envelope, publish

EVENT = FailedRecovery("4f1c7c1e-52c9-4a49-9a3c-0d8e7f0d3b11", "COMPUTE_HOST", "compute1", "no spare host", "p1")


def test_the_envelope_is_oslo_messagingv2_with_the_project_and_the_notification_id() -> None:
    body = envelope(EVENT, "vmha.gw1", datetime(2026, 11, 25, 8, 0, 1, 250000, tzinfo=UTC))
    assert body["oslo.version"] == "2.0"
    message = json.loads(body["oslo.message"])
    assert message == {
        "message_id": EVENT.notification_id, "publisher_id": "vmha.gw1", "event_type": EVENT_TYPE,
        "priority": "INFO", "timestamp": "2026-11-25 08:00:01.250000",
        "payload": {"tenant_id": "p1", "notification_id": EVENT.notification_id, "type": "COMPUTE_HOST",
                    "hostname": "compute1", "reason": "no spare host"}}


def test_an_unreachable_broker_is_a_clear_error() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EscalationError, match=f"cannot publish {EVENT_TYPE} for {EVENT.notification_id}"):
        publish(f"rabbit://guest:guest@127.0.0.1:{port}/", EVENT, timeout=2)
