"""The webhooks: refused unsigned, wrongly signed, expired, with a forged token or a token the policy refuses,
with nothing posted or journaled; a real Zaqar trust subscription's push (a token through Zaqar's trust) wakes
an idle consumer; a real Aodh event alarm's trust+http action (a token through Aodh's trust) turns a
powered-off HA server into a VM notification whose recovery starts the server again."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from aodhclient import client as aodh_client

from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.runtime_steps import Effects, intake, make_table
from vmha.api import AODH_PATH, ZAQAR_PATH, signed_url
from vmha.functions import STEPS
from vmha.functions import intake as real_intake
from vmha.journal import NotificationStatus

from .api_support import WEBHOOK_SECRET, Running, api_settings, serving
from .runtime_support import Place, wait_ended

ALARM = {"alarm_name": "x", "alarm_id": str(uuid.uuid4()), "current": "alarm", "previous": "ok",
         "reason_data": {"type": "event", "event": {"message_id": str(uuid.uuid4()), "traits": []}}}


def queued(place: Place) -> int:
    stats: dict[str, Any] = place.client.queue(place.queues["notifications"], auto_create=False).stats
    return int(stats["messages"]["total"])


def signed(api: Running, path: str, seconds: int = 600, secret: str = WEBHOOK_SECRET) -> str:
    return signed_url(api.url, path, secret, int(time.time()) + seconds)


def test_unsigned_wrongly_signed_and_malformed_webhook_calls_are_refused(
    place: Place, cloud_layout: Layout, tmp_path: Path, demo_conn: Any
) -> None:
    with serving(cloud_layout, api_settings(place), make_table(Effects(tmp_path / "fx")), intake) as api:
        calls = [
            (api.url + AODH_PATH, ALARM, 401, "needs a Keystone token (X-Auth-Token) or a signed URL"),
            (signed(api, AODH_PATH, secret="guess"), ALARM, 403, "wrong webhook signature"),
            (signed(api, ZAQAR_PATH, seconds=-10), {}, 403, "expired"),
            (signed(api, ZAQAR_PATH).replace(ZAQAR_PATH, AODH_PATH), ALARM, 403, "wrong webhook signature"),
            (signed(api, AODH_PATH), ALARM, 400, "no instance_id trait"),
            (signed(api, AODH_PATH), {**ALARM, "reason_data": {"type": "threshold"}}, 400, "not an Aodh event alarm"),
        ]
        for url, body, status, words in calls:
            answer = api.call("POST", url.removeprefix(api.url), token=None, json=body)
            assert (answer.status_code, words in answer.json()["error"]["message"]) == (status, True), url
        malformed = api.call("POST", signed(api, AODH_PATH).removeprefix(api.url), token=None, data=b"[1,")
        assert malformed.status_code == 400
        ok_state = api.call("POST", signed(api, AODH_PATH).removeprefix(api.url), token=None,
                            json={**ALARM, "current": "ok"})
        assert ok_state.status_code == 200 and "ignored" in ok_state.json()
        for path in (AODH_PATH, ZAQAR_PATH):
            assert api.call("POST", path, token="forged", json=ALARM).status_code == 401
            member = api.call("POST", path, token=demo_conn.session.get_token(), json=ALARM)
            assert member.status_code == 403 and ":token to be performed" in member.json()["error"]["message"]
        assert queued(place) == 0 and api.count("notifications") == 0


def test_a_zaqar_subscription_push_wakes_an_idle_consumer(place: Place, cloud_layout: Layout, tmp_path: Path) -> None:
    poll = 300.0
    settings = api_settings(place, poll_interval_seconds=poll)
    with serving(cloud_layout, settings, make_table(Effects(tmp_path / "fx")), intake) as api:
        place.client.subscription(place.queues["notifications"], subscriber=f"trust+{api.url}{ZAQAR_PATH}",
                                  ttl=3600, options={"source": "vmha-api-test"})
        [made] = list(place.client.subscriptions(place.queues["notifications"]))
        assert made.options.get("trust_id"), "Zaqar made no trust for the trust+ subscriber"
        time.sleep(2)  # the workers' first claims come back empty: now only a push or the poll wakes them
        started = time.monotonic()
        nid = place.notify("flow:ok")
        detail = wait_ended(api.gateway.services.journal, nid, timeout=poll / 10)
        elapsed = time.monotonic() - started
    assert detail.notification.status is NotificationStatus.FINISHED
    print(f"notification finished {elapsed:.2f} s after it was posted (poll interval {poll:.0f} s)")


def free_host(conn: Any) -> str:
    """An up fake compute host in no vmha segment (other tests' segments must not hold it: one segment per host;
    the kvm profile's hosts take only their own image)."""
    segments = [aggregate for aggregate in conn.compute.aggregates()
                if any(key.startswith("vmha:") for key in aggregate.metadata or {})]
    taken = {host for aggregate in segments
             for host in [*(aggregate.hosts or ()), *aggregate.metadata.get("vmha:reserved_hosts", "").split(",")]}
    up = [service.host for service in conn.compute.services(binary="nova-compute")
          if service.state == "up" and service.status == "enabled" and service.host not in taken
          and service.host in COMPUTE_HOSTS]
    assert up, f"every compute host is down or in a vmha segment: {sorted(taken)}"
    return str(sorted(up)[-1])


def test_an_aodh_alarm_on_a_powered_off_server_restarts_it(place: Place, cloud_layout: Layout, admin_conn: Any) -> None:
    conn, suffix = admin_conn, uuid.uuid4().hex[:8]
    host = free_host(conn)
    aggregate = conn.compute.create_aggregate(name=f"vmha-api-aodh-{suffix}")
    alarms = aodh_client.Client("2", session=conn.session)
    servers: list[Any] = []
    alarm: dict[str, Any] = {}
    try:
        conn.compute.add_host_to_aggregate(aggregate, host)
        conn.compute.set_aggregate_metadata(aggregate, {"vmha:recovery_method": "auto", "vmha:enabled": "true"})
        servers = helpers.boot_servers(conn, host, 1, f"api-aodh-{suffix}", metadata={"HA_Enabled": "True"})
        with serving(cloud_layout, api_settings(place), STEPS, real_intake) as api:
            alarm = alarms.alarm.create({
                "name": f"vmha-api-power-off-{suffix}", "type": "event", "repeat_actions": False,
                "alarm_actions": [f"trust+{api.url}{AODH_PATH}"],
                "event_rule": {"event_type": "compute.instance.power_off.end", "query": [
                    {"field": "traits.instance_id", "op": "eq", "type": "string", "value": servers[0].id}]}})
            conn.compute.stop_server(servers[0])
            conn.compute.wait_for_server(servers[0], status="SHUTOFF", wait=120, interval=0.5)
            # the status now: the finally's wait_for_delete updates the same resource object to DELETED
            restarted = conn.compute.wait_for_server(servers[0], status="ACTIVE", wait=180, interval=1).status
            [record] = api.gateway.services.journal.list_notifications()
            detail = wait_ended(api.gateway.services.journal, record.id)
    finally:
        if alarm:
            alarms.alarm.delete(alarm["alarm_id"])
        helpers.delete_servers(conn, servers)
        conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)
    assert restarted == "ACTIVE"
    assert record.source == f"aodh/{alarm['alarm_id']}" and record.type == "VM"
    assert detail.notification.status is NotificationStatus.FINISHED
    assert [step.key.step_id for step in detail.steps] == ["stop_instance", "start_instance", "confirm_instance_active"]
