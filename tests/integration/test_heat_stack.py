"""heat/ on the local cloud's real Heat: every template validates; a deployed stack has the aggregates,
queues, subscriptions and alarms it promises, and they work: a message posted to the deployed queue wakes a
real gateway through the deployed subscription, and the deployed alarm fires on a real Nova event."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aodhclient import client as aodh_client

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.cloud.webhook import WebhookRecorder
from vmha.contracts import Notification, ProcessEvent, ProcessPayload, parse_settings
from vmha.deploy import Deployment, StackRequest, bundle, delete, deploy, validate
from vmha.functions import STEPS, intake
from vmha.heat import environment_path, template_names, template_path
from vmha.journal import utc_now
from vmha.runtime import gateway

ALARM_PATH = "/v1/webhooks/aodh"


@pytest.mark.parametrize("name", template_names())
def test_every_template_validates_on_the_real_heat(admin_conn: Any, name: str) -> None:
    verdict = validate(admin_conn, bundle(template_path(name)))
    assert verdict["Description"].strip()


def _request(suffix: str, gateway_url: str) -> StackRequest:
    segments = [{"name": f"heat-test-{suffix}-a", "hosts": ["compute3", "compute4"], "recovery_method": "rh_priority",
                 "reserved_hosts": ["compute4"], "fencing": "required"},
                {"name": f"heat-test-{suffix}-b", "hosts": ["compute2"], "enabled": False}]
    return StackRequest(f"heat-test-{suffix}", environments=(environment_path("local-cloud"),),
                        parameters={"gateway_url": gateway_url, "queue_prefix": f"heat-test-{suffix}",
                                    "segments": segments, "alarm_path": ALARM_PATH})


@pytest.fixture
def stack_with(admin_conn: Any) -> Iterator[Any]:
    """Deploy the stack for a gateway URL (deleted afterwards); returns its Deployment."""
    names: list[str] = []

    def make(gateway_url: str, suffix: str | None = None) -> Deployment:
        request = _request(suffix or uuid.uuid4().hex[:8], gateway_url)
        names.append(request.name)
        deployed: Deployment = deploy(admin_conn, request, lambda line: None)
        return deployed

    yield make
    for name in names:
        delete(admin_conn, name, lambda line: None)


def test_the_stack_makes_segments_queues_subscriptions_and_alarms(admin_conn: Any, stack_with: Any) -> None:
    with WebhookRecorder() as hook:
        base = hook.url("")
        deployed = stack_with(base)
        suffix = deployed.queues["notifications"].removeprefix("heat-test-").split("-")[0]
        first = admin_conn.compute.get_aggregate(deployed.segment_ids[0])
        second = admin_conn.compute.get_aggregate(deployed.segment_ids[1])
        assert (first.name, sorted(first.hosts)) == (f"heat-test-{suffix}-a", ["compute3", "compute4"])
        assert first.metadata == {"vmha:enabled": "true", "vmha:recovery_method": "rh_priority",
                                  "vmha:reserved_hosts": "compute4", "vmha:maintenance_hosts": "",
                                  "vmha:fencing": "required"}
        assert (second.hosts, second.metadata["vmha:enabled"]) == (["compute2"], "false")
        client = helpers.zaqar(admin_conn)
        for role in ("notifications", "steps"):
            [subscription] = list(client.subscriptions(deployed.queues[role]))
            assert subscription.subscriber == base + "/v1/wakeup"
            assert subscription.options == {"vmha_queue": role}
        assert deployed.function_urls["evacuate_instance"] == base + "/v1/functions/evacuate_instance/executions"
        _assert_alarm_fires(admin_conn, deployed, hook)


def _assert_alarm_fires(conn: Any, deployed: Deployment, hook: WebhookRecorder) -> None:
    alarm = aodh_client.Client("2", session=conn.session).alarm.get(deployed.alarm_ids["instance_error"])
    assert (alarm["type"], alarm["repeat_actions"], alarm["alarm_actions"]) == ("event", True, [hook.url(ALARM_PATH)])
    assert alarm["event_rule"]["event_type"] == "compute.instance.update"
    [server] = helpers.boot_servers(conn, "compute2", 1, f"heat-test-{uuid.uuid4().hex[:6]}")
    try:
        conn.compute.reset_server_state(server, "error")
        requests = hook.wait_for(ALARM_PATH, timeout=60)
    finally:
        helpers.delete_servers(conn, [server])
    bodies = [request.json() for request in requests]
    traits = [{name: value for name, _kind, value in body["reason_data"]["event"]["traits"]} for body in bodies]
    assert any(item["instance_id"] == server.id and item["state"] == "error" for item in traits)
    assert {body["alarm_id"] for body in bodies} == {deployed.alarm_ids["instance_error"]}


def test_a_message_posted_to_the_deployed_queue_wakes_the_gateway_through_the_subscription(
        cloud_layout: Layout, admin_conn: Any, stack_with: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud_layout.clouds_yaml))
    suffix = uuid.uuid4().hex[:8]
    queues = {role: f"heat-test-{suffix}-{role.replace('_', '-')}" for role in ("notifications", "steps",
                                                                              "dead_letters")}
    # Without a push the gateway would look again only after 5 minutes.
    settings = parse_settings({"journal_url": f"sqlite:///{tmp_path / 'journal.db'}", "queues": queues,
                               "gateway": {"cloud": "vmha-admin", "listen_host": "127.0.0.1", "listen_port": 0,
                                           "poll_interval_seconds": 300, "workers": 2}}, {})
    built = gateway.build(settings, STEPS, intake)
    stop = threading.Event()
    runner = threading.Thread(target=gateway.serve, args=(built, stop, 10.0), daemon=True)
    try:
        assert stack_with(built.http.url, suffix).queues == queues
        runner.start()
        assert wait_until(lambda: built.consumer.alive == 3, 30, 0.2)
        pushes = built.consumer.wakeup.generation  # only a push (or a stop) moves it here
        notification = Notification(uuid.uuid4(), "heat-test", "compute3", utc_now(),
                                    ProcessPayload(ProcessEvent.STARTED, "nova-compute"))
        helpers.zaqar(admin_conn).queue(queues["notifications"], auto_create=False).post(
            [{"body": notification.to_dict(), "ttl": 300}])
        journal = built.services.journal
        assert wait_until(lambda: journal.get_notification(str(notification.id)) is not None, 30, 0.2)
        assert built.consumer.wakeup.generation > pushes, "recorded, but no push from the subscription came"
    finally:
        stop.set()
        if runner.is_alive():
            runner.join(30)
        else:
            built.stop(10.0)
