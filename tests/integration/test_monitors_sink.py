"""The monitor sink against the real Zaqar of the local cloud: nothing lost, in order, across restarts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keystoneauth1.identity.base import BaseIdentityPlugin

from tests import monitors_support as support
from tests.cloud.webhook import WebhookRecorder
from tests.monitors_support import (
    SilentServer,
    closed_port,
    monitor_settings,
    queue_bodies,
    wait_for_bodies,
    wait_until,
)
from vmha.contracts import Notification, ProcessEvent, ProcessPayload, VirDomainEvent, VmEvent, VmPayload
from vmha.monitors.cloud import LazySession, load_cloud
from vmha.monitors.runner import build_sink

FAST_RETRY = {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.2}

zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests


def notification(index: int) -> Notification:
    return Notification(uuid.uuid4(), "vmha-monitor/process@compute1", "compute1", datetime.now(UTC),
                        ProcessPayload(ProcessEvent.STOPPED, f"service-{index}"))


def test_a_warmed_session_holds_a_token_before_the_first_notification() -> None:
    session = LazySession(load_cloud("vmha-admin"), timeout=10)
    session.warm()
    auth = session().auth
    assert isinstance(auth, BaseIdentityPlugin) and auth.auth_ref is not None, "warm() did not authenticate"
    zaqar_url = auth.auth_ref.service_catalog.url_for(service_type="messaging", interface="public")
    assert str(zaqar_url).startswith("http://127.0.0.1:")


def test_refused_then_delivered_in_order_across_a_sink_restart(tmp_path: Path, zaqar: Any, queue: str) -> None:
    refused = monitor_settings(tmp_path, queue, cloud="vmha-admin",
                               sink={"zaqar_url": f"http://127.0.0.1:{closed_port()}", **FAST_RETRY})
    sent = [notification(index) for index in range(12)]
    first = build_sink(refused)
    try:
        for item in sent[:8]:
            first.send(item)
        assert not first.drain(1.0)  # retried meanwhile, never accepted
        assert first.pending() == 8
    finally:
        first.close()
    assert queue_bodies(zaqar, queue) == []

    second = build_sink(monitor_settings(tmp_path, queue, cloud="vmha-admin", sink=FAST_RETRY))  # the catalog's Zaqar
    try:
        for item in sent[8:]:
            second.send(item)
        assert second.drain(30)
    finally:
        second.close()
    bodies = wait_for_bodies(zaqar, queue, len(sent))
    assert bodies == [item.to_dict() for item in sent]


def test_a_hung_zaqar_times_out_and_the_notification_is_delivered_later(
        tmp_path: Path, zaqar: Any, queue: str) -> None:
    hung = SilentServer()
    sent = notification(0)
    try:
        settings = monitor_settings(tmp_path, queue, cloud="vmha-admin", sink={
            "zaqar_url": f"http://127.0.0.1:{hung.port}", "request_timeout_seconds": 2.0, **FAST_RETRY})
        sink = build_sink(settings)
        try:
            sink.send(sent)
            # A second connection means the first attempt gave up on the silent server and the sink retried.
            assert wait_until(lambda: len(hung.accepted) >= 2, 60)
            assert sink.pending() == 1
        finally:
            sink.close()
    finally:
        hung.close()
    assert queue_bodies(zaqar, queue) == []
    later = build_sink(monitor_settings(tmp_path, queue, cloud="vmha-admin", sink=FAST_RETRY))
    try:
        assert later.drain(30)
    finally:
        later.close()
    assert wait_for_bodies(zaqar, queue, 1) == [sent.to_dict()]


def test_every_notification_also_reaches_a_masakari_compatible_api(tmp_path: Path, zaqar: Any, queue: str) -> None:
    vm = Notification(uuid.uuid4(), "vmha-monitor/instance@compute1", "compute1", datetime.now(UTC),
                      VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED, uuid.uuid4()))
    with WebhookRecorder() as masakari:
        sink = build_sink(monitor_settings(tmp_path, queue, cloud="vmha-admin",
                                           sink={"masakari_url": masakari.url(""), **FAST_RETRY}))
        try:
            sink.send(vm)
            assert sink.drain(30)
        finally:
            sink.close()
        [request] = masakari.wait_for("/v1/notifications")
    document = vm.to_dict()
    assert request.json() == {"notification": {key: document[key] for key in
                                               ("type", "hostname", "generated_time", "payload")}}
    assert request.headers["X-Auth-Token"]  # a real Keystone token from the monitor's session
    assert request.headers["OpenStack-API-Version"] == "instance-ha 1.0"
    assert wait_for_bodies(zaqar, queue, 1) == [document]
