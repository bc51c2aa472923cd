"""Masakari's payload shapes of vmha's versioned notifications, and a notifier that is off (no broker needed)."""

from __future__ import annotations

from datetime import UTC, datetime

from vmha.cloud.segments import host_uuid
from vmha.contracts import NotificationOptions
from vmha.journal import NotificationRecord, NotificationStatus
from vmha.versioned_notifications import (
    OFF,
    Phase,
    VersionedNotifier,
    fault,
    host_payload,
    notification_payload,
    segment_payload,
)

SEGMENT = {"id": "s-1", "uuid": "s-1", "name": "seg", "service_type": "compute", "description": None,
           "recovery_method": "auto", "enabled": True, "created_at": "2026-12-04T12:00:00.000000"}


def test_a_host_payload_embeds_its_segment_as_masakari_does() -> None:
    view = {"id": "h-1", "uuid": "h-1", "name": "compute1", "type": "COMPUTE", "reserved": True,
            "control_attributes": "SSH", "on_maintenance": False, "failover_segment": SEGMENT, "deleted": False}
    payload = host_payload(view)
    assert (payload["masakari_object.name"], payload["masakari_object.version"],
            payload["masakari_object.namespace"]) == ("HostApiPayload", "1.0", "masakari")
    data = payload["masakari_object.data"]
    assert {key: data[key] for key in ("id", "name", "type", "reserved", "control_attributes", "on_maintenance",
                                       "fault")} == {"id": "h-1", "name": "compute1", "type": "COMPUTE",
                                                      "reserved": True, "control_attributes": "SSH",
                                                      "on_maintenance": False, "fault": None}
    embedded = data["failover_segment"]
    assert embedded["masakari_object.name"] == "FailoverSegment"
    assert "created_at" not in embedded["masakari_object.data"]
    assert segment_payload(SEGMENT)["masakari_object.version"] == "1.1"  # 1.1 carries enabled


def test_a_failed_recovery_carries_its_reason_as_a_fault() -> None:
    moment = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    record = NotificationRecord(
        id="4b0c5e0e-9f8e-4f43-9a53-9b2d6f1f6d11", type="COMPUTE_HOST", hostname="compute1", generated_time=moment,
        payload={"event": "STOPPED"}, source="test", status=NotificationStatus.FAILED, status_reason="no spare",
        segment="seg", recovery_method="auto", created_at=moment, updated_at=moment, deadline=moment)
    data = notification_payload(record, fault("no spare", "vmha.notification.process"))["masakari_object.data"]
    assert (data["notification_uuid"], data["status"], data["generated_time"], data["source_host_uuid"]) == (
        record.id, "failed", "2026-12-04T12:00:00Z", host_uuid("compute1"))
    assert data["fault"]["masakari_object.name"] == "ExceptionPayload"
    assert data["fault"]["masakari_object.data"]["exception_message"] == "no spare"


def test_without_a_transport_url_nothing_is_queued_or_started() -> None:
    notifier = VersionedNotifier(NotificationOptions("", "versioned_notifications", 10.0))
    notifier.segment("create", Phase.START, SEGMENT)
    notifier.close(1)
    assert not notifier.enabled and not OFF.enabled and notifier.counts == {}
