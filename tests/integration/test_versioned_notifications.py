"""Masakari's versioned notifications from a real gateway, heard by a real oslo.messaging notification listener on
the local RabbitMQ.

The gateway sends on a topic of the test's own (``notifications.topic``, exchange ``masakari``), so Nova's and
Ceilometer's consumers never see them, nor does another test; the topic's queues are deleted afterwards. The
gateway runs the test step table with an intake that recovers every notification with the flow ``ok``: what is
under test is what the gateway announces, not a real recovery."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oslo_messaging
import pytest
from kombu.connection import Connection
from oslo_config import cfg

from tests.cloud.layout import Layout
from tests.runtime_steps import Effects, make_table
from vmha.context import StepContext
from vmha.contracts import Notification, NotificationOptions
from vmha.outcomes import IntakeOutcome, Recover
from vmha.versioned_notifications import EXCHANGE, Phase, VersionedNotifier

from .api_support import api_settings, serving
from .runtime_support import Place, wait_ended

pytestmark = pytest.mark.integration


class Heard:
    """What a notification listener on ``topic`` heard, in order: (priority, publisher, event type, payload)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.items: list[tuple[str, str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def info(self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: Any) -> None:
        self._add("INFO", publisher_id, event_type, payload)

    def error(self, ctxt: Any, publisher_id: str, event_type: str, payload: Any, metadata: Any) -> None:
        self._add("ERROR", publisher_id, event_type, payload)

    def _add(self, priority: str, publisher: str, event_type: str, payload: Any) -> None:
        with self._lock:
            self.items.append((priority, publisher, event_type, payload))

    def types(self) -> list[str]:
        with self._lock:
            return [event_type for _, _, event_type, _ in self.items]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.types()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.types()


@pytest.fixture
def topic(cloud_layout: Layout) -> Iterator[str]:
    """A topic of this test's own; its queues are deleted afterwards."""
    name = f"vmha-test-{uuid.uuid4().hex[:10]}"
    yield name
    url = cloud_layout.transport_url.replace("rabbit://", "amqp://", 1)
    with Connection(url, connect_timeout=10) as broker:  # type: ignore[no-untyped-call]
        channel = broker.channel()
        for priority in ("info", "error"):
            channel.queue_delete(f"{name}.{priority}")


@pytest.fixture
def heard(cloud_layout: Layout, topic: str) -> Iterator[Heard]:
    """A real oslo.messaging notification listener on ``topic``, started before anything is sent."""
    conf = cfg.ConfigOpts()
    conf([], project="vmha-test", default_config_files=[], default_config_dirs=[])
    transport = oslo_messaging.get_notification_transport(conf, url=cloud_layout.transport_url)
    found = Heard(topic)
    listener = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=topic, exchange=EXCHANGE)], [found], executor="threading")
    listener.start()
    try:
        yield found
    finally:
        listener.stop()
        listener.wait()
        transport.cleanup()


def recover_all(notification: Notification, ctx: StepContext) -> IntakeOutcome:
    return Recover(("ok",))


def data(payload: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = payload["masakari_object.data"]
    return found


def test_a_segment_made_through_the_api_and_a_host_failure_are_announced_in_order(
        place: Place, cloud_layout: Layout, admin_conn: Any, heard: Heard, tmp_path: Path) -> None:
    settings = dataclasses.replace(api_settings(place), notifications=NotificationOptions(
        cloud_layout.transport_url, heard.topic, 10.0))
    name, host = f"vmha-vn-{uuid.uuid4().hex[:8]}", f"vn-{uuid.uuid4().hex[:8]}-spare"
    with serving(cloud_layout, settings, make_table(Effects(tmp_path / "fx")), recover_all) as api:
        made = api.call("POST", "/v1/segments", json={"segment": {
            "name": name, "service_type": "compute", "recovery_method": "auto"}})
        assert made.status_code == 201, made.text
        segment = made.json()["segment"]
        try:
            # a made-up spare: no real compute host is taken from the other tests (one segment per host)
            [aggregate] = [found for found in admin_conn.compute.aggregates() if found.name == name]
            admin_conn.compute.set_aggregate_metadata(aggregate, {"vmha:reserved_hosts": host})
            posted = api.call("POST", "/v1/notifications", json={"notification": {
                "type": "COMPUTE_HOST", "hostname": host, "generated_time": "2026-12-04T12:00:00Z",
                "payload": {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}}})
            assert posted.status_code == 202, posted.text
            notification = posted.json()["notification"]
            ended = wait_ended(api.gateway.services.journal, notification["notification_uuid"])
            spare = f"/v1/segments/{segment['uuid']}/hosts/{notification['source_host_uuid']}"
            changed = api.call("PUT", spare, json={"host": {"control_attributes": "IPMI"}})
            assert changed.status_code == 200, changed.text
            assert api.call("DELETE", spare).status_code == 204
        finally:
            removed = api.call("DELETE", f"/v1/segments/{segment['uuid']}")
        assert removed.status_code == 204, removed.text
        types = heard.wait_for(12)
        counts = api.gateway.services.events.counts
        scraped = api.call("GET", "/metrics", token=None).text
    assert ended.notification.status.value == "finished"
    assert types == ["segment.create.start", "segment.create.end", "notification.create.start",
                     "notification.create.end", "notification.process.start", "notification.process.end",
                     "host.update.start", "host.update.end", "host.delete.start", "host.delete.end",
                     "segment.delete.start", "segment.delete.end"]
    assert counts == {"sent": 12}
    assert 'vmha_versioned_notifications_total{outcome="sent"} 12.0' in scraped
    items = {event_type: (priority, publisher, payload) for priority, publisher, event_type, payload in heard.items}
    priority, publisher, payload = items["segment.create.end"]
    assert (priority, publisher.partition(":")[0], payload["masakari_object.name"]) == (
        "INFO", "masakari-api", "SegmentApiPayload")
    assert data(payload) == {"id": segment["id"], "uuid": segment["uuid"], "name": name, "service_type": "compute",
                             "description": None, "recovery_method": "auto", "enabled": True, "fault": None}
    assert data(items["segment.delete.end"][2])["uuid"] == segment["uuid"]
    before, after = data(items["host.update.start"][2]), data(items["host.update.end"][2])
    assert (before["name"], before["reserved"], before["control_attributes"], after["control_attributes"]) == (
        host, True, "", "IPMI")
    assert data(after["failover_segment"])["uuid"] == segment["uuid"]
    assert data(items["host.delete.end"][2])["uuid"] == notification["source_host_uuid"]
    _, publisher, started = items["notification.process.start"]
    assert publisher.partition(":")[0] == "masakari-engine"
    assert {key: data(started)[key] for key in ("notification_uuid", "type", "status", "source_host_uuid")} == {
        "notification_uuid": notification["notification_uuid"], "type": "COMPUTE_HOST", "status": "running",
        "source_host_uuid": notification["source_host_uuid"]}
    assert data(items["notification.process.end"][2])["status"] == "finished"
    assert data(items["notification.create.end"][2])["payload"] == {
        "event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}


def test_a_broker_down_never_holds_the_caller_and_each_event_is_counted() -> None:
    notifier = VersionedNotifier(NotificationOptions("rabbit://vmha:wrong@127.0.0.1:1/", "vmha-test-down", 1.0))
    try:
        started = time.monotonic()
        for _ in range(20):
            notifier.segment("create", Phase.START, {"name": "nowhere"})
        took = time.monotonic() - started
        deadline = time.monotonic() + 30
        while sum(notifier.counts.values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        notifier.close(5)
    assert took < 0.5, f"20 emits took {took:.2f} s"
    counts = notifier.counts
    assert counts.get("sent", 0) == 0 and counts.get("failed", 0) + counts.get("dropped", 0) == 20, counts
