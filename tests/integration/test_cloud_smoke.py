"""Smoke tests of the local cloud itself: the services vmha relies on really work together."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aodhclient import client as aodh_client

from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.cloud.webhook import WebhookRecorder

FAILED_HOST = "compute1"


@pytest.fixture
def evacuation_conn(cloud_layout: Layout) -> Iterator[Any]:
    """Admin connection pinned below 2.95, so evacuated ACTIVE servers come back ACTIVE."""
    conn = catalog.connect(cloud_layout, "vmha-admin", compute_microversion=helpers.COMPUTE_MICROVERSION)
    yield conn
    conn.close()


def test_killed_host_servers_are_evacuated_and_host_restarts(cloud_layout: Layout, evacuation_conn: Any) -> None:
    conn = evacuation_conn
    servers = helpers.boot_servers(conn, FAILED_HOST, 3, f"smoke-evac-{uuid.uuid4().hex[:6]}")
    try:
        assert {s.compute_host for s in servers} == {FAILED_HOST}
        helpers.kill_host(cloud_layout, FAILED_HOST)
        assert not helpers.host_is_running(cloud_layout, FAILED_HOST)
        service = helpers.compute_service(conn, FAILED_HOST)
        conn.compute.update_service_forced_down(service, FAILED_HOST, "nova-compute", forced=True)
        conn.compute.disable_service(service, FAILED_HOST, "nova-compute", disabled_reason="smoke test")
        down = helpers.compute_service(conn, FAILED_HOST)
        assert (down.state, down.status, down.is_forced_down) == ("down", "disabled", True)
        for server in servers:
            conn.compute.evacuate_server(server)
        for server in servers:
            moved = helpers.wait_evacuated(conn, server, FAILED_HOST)
            assert moved.compute_host not in (None, FAILED_HOST)
    finally:
        helpers.restore_host(cloud_layout, conn, FAILED_HOST)
        helpers.delete_servers(conn, servers)
    restored = helpers.compute_service(conn, FAILED_HOST)
    assert (restored.state, restored.status, restored.is_forced_down) == ("up", "enabled", False)


def test_zaqar_post_claim_delete(admin_conn: Any) -> None:
    queue = helpers.zaqar(admin_conn).queue(f"smoke-{uuid.uuid4().hex[:8]}")
    try:
        queue.post([{"body": {"n": n}, "ttl": 300} for n in range(3)])
        claim = queue.claim(ttl=60, grace=60, limit=2)
        claimed = list(claim)
        assert sorted(m.body["n"] for m in claimed) == [0, 1]
        for message in claimed:
            message.delete()
        assert [m.body for m in queue.messages(echo=True)] == [{"n": 2}]
        assert helpers.purge_queue(admin_conn, queue.name) == 1
        assert list(queue.messages(echo=True)) == []
    finally:
        queue.delete()


def test_zaqar_subscription_delivers_to_a_local_webhook(admin_conn: Any) -> None:
    client = helpers.zaqar(admin_conn)
    queue = client.queue(f"smoke-sub-{uuid.uuid4().hex[:8]}")
    try:
        with WebhookRecorder() as hook:
            client.subscription(queue.name, subscriber=hook.url("/zaqar"), ttl=3600, options={})
            queue.post({"body": {"event": "host_down", "host": "x"}, "ttl": 300})
            [request] = hook.wait_for("/zaqar", timeout=30)
        body = request.json()
        assert body["body"] == {"event": "host_down", "host": "x"}
        assert body["queue_name"] == queue.name
    finally:
        queue.delete()


def test_aodh_event_alarm_fires_on_a_real_nova_event(admin_conn: Any) -> None:
    alarms = aodh_client.Client("2", session=admin_conn.session)
    [server] = helpers.boot_servers(admin_conn, "compute2", 1, f"smoke-aodh-{uuid.uuid4().hex[:6]}")
    with WebhookRecorder() as hook:
        alarm = alarms.alarm.create({
            "name": f"smoke-power-off-{server.id[:8]}", "type": "event", "repeat_actions": False,
            "alarm_actions": [hook.url("/aodh")],
            "event_rule": {"event_type": "compute.instance.power_off.end",
                           "query": [{"field": "traits.instance_id", "op": "eq", "type": "string",
                                      "value": server.id}]},
        })
        try:
            admin_conn.compute.stop_server(server)
            [request] = hook.wait_for("/aodh", timeout=60)
        finally:
            alarms.alarm.delete(alarm["alarm_id"])
            helpers.delete_servers(admin_conn, [server])
    body = request.json()
    assert body["alarm_id"] == alarm["alarm_id"]
    assert body["current"] == "alarm"
    event = body["reason_data"]["event"]
    assert event["event_type"] == "compute.instance.power_off.end"
    traits = {name: value for name, _type, value in event["traits"]}
    assert traits["instance_id"] == server.id
    assert traits["host"] == "compute2"


HA_STACK = {
    "heat_template_version": "2021-04-16",
    "parameters": {"hook": {"type": "string"}, "suffix": {"type": "string"}},
    "resources": {
        "queue": {"type": "OS::Zaqar::Queue",
                  "properties": {"name": {"list_join": ["-", ["smoke", {"get_param": "suffix"}]]}}},
        "subscription": {"type": "OS::Zaqar::Subscription", "properties": {
            "queue_name": {"get_resource": "queue"}, "subscriber": {"get_param": "hook"}, "ttl": 3600,
            # Without options Zaqar stores null and its notifier then never posts to the subscriber.
            "options": {"source": "vmha-smoke"}}},
        "alarm": {"type": "OS::Aodh::EventAlarm", "properties": {
            "event_type": "compute.instance.power_off.end", "alarm_actions": [{"get_param": "hook"}],
            "repeat_actions": True}},
        "segment": {"type": "OS::Nova::HostAggregate", "properties": {
            "name": {"list_join": ["-", ["smoke-segment", {"get_param": "suffix"}]]},
            "hosts": ["compute2", "compute3"], "metadata": {"vmha:recovery_method": "auto"}}},
    },
}


def test_heat_stack_with_queue_subscription_alarm_and_aggregate(admin_conn: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    with WebhookRecorder() as hook:
        stack = admin_conn.orchestration.create_stack(
            name=f"smoke-{suffix}", template=HA_STACK, parameters={"hook": hook.url("/heat"), "suffix": suffix})
        try:
            stack = admin_conn.orchestration.wait_for_status(stack, "CREATE_COMPLETE", failures=["CREATE_FAILED"],
                                                             interval=1, wait=180)
            aggregate = admin_conn.compute.find_aggregate(f"smoke-segment-{suffix}", ignore_missing=False)
            assert sorted(aggregate.hosts) == ["compute2", "compute3"]
            assert aggregate.metadata["vmha:recovery_method"] == "auto"
            # The stack's subscription delivers what is posted to the stack's queue.
            helpers.zaqar(admin_conn).queue(f"smoke-{suffix}").post({"body": {"from": "heat test"}, "ttl": 60})
            [request] = hook.wait_for("/heat", timeout=30)
            assert request.json()["body"] == {"from": "heat test"}
        finally:
            admin_conn.orchestration.delete_stack(stack)
            admin_conn.orchestration.wait_for_delete(stack, wait=180)
    assert admin_conn.compute.find_aggregate(f"smoke-segment-{suffix}") is None
