"""heat/ on the local cloud's real Heat: every template validates; a deployed stack has the aggregates,
queues, subscriptions and alarms it promises, wired to the gateway's signed webhook URLs (webhook_auth
signed), and with Keystone trusts (the default) they work against a real gateway: a message posted to the
deployed queue reaches it through the deployed trust subscription (Zaqar's token), and the deployed alarm
fires on a real Nova event and invokes intake through its trust+http action (Aodh's token), while an unsigned
call is refused."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aodhclient import client as aodh_client

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.integration.recovery_support import PUSH_RETRY_POLICY
from vmha import gateway
from vmha.api import AODH_PATH, ZAQAR_PATH
from vmha.cloud.segment_policy import SegmentPolicy
from vmha.cloud.segments import parse_segment
from vmha.contracts import Notification, ProcessEvent, ProcessPayload, parse_settings
from vmha.deploy import Deployment, StackRequest, bundle, delete, deploy, validate
from vmha.functions import STEPS, intake
from vmha.heat import environment_path, template_names, template_path
from vmha.journal import Journal, utc_now

SECRET = "heat-test-webhook-secret"


@pytest.mark.parametrize("name", template_names())
def test_every_template_validates_on_the_real_heat(admin_conn: Any, name: str) -> None:
    verdict = validate(admin_conn, bundle(template_path(name)))
    assert verdict["Description"].strip()


def _request(suffix: str, gateway_url: str, **extra: Any) -> StackRequest:
    segments = [{"name": f"heat-test-{suffix}-a", "hosts": ["compute3", "compute4"], "recovery_method": "rh_priority",
                 "reserved_hosts": ["compute4"], "fencing": "required", "rto_seconds": 180,
                 "evacuate_all_instances": False, "mass_failure_share": 0.75, "excluded_tags": ["amphora", "pets"]},
                {"name": f"heat-test-{suffix}-b", "hosts": ["compute2"], "enabled": False}]
    return StackRequest(f"heat-test-{suffix}", environments=(environment_path("local-cloud"),),
                        parameters={"gateway_url": gateway_url, "queue_prefix": f"heat-test-{suffix}",
                                    "segments": segments, **extra}, webhook_secret=SECRET)


@pytest.fixture
def running(cloud_layout: Layout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[gateway.Gateway]:
    """A real gateway (consumer + API, vmha.functions) on the queues of the stack it is deployed with."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud_layout.clouds_yaml))
    suffix = uuid.uuid4().hex[:8]
    queues = {role: f"heat-test-{suffix}-{role.replace('_', '-')}" for role in ("notifications", "steps",
                                                                              "dead_letters")}
    # Without a push the gateway would look again only after 5 minutes.
    settings = parse_settings({"journal_url": f"sqlite:///{tmp_path / 'journal.db'}", "queues": queues,
                               "gateway": {"cloud": "vmha-admin", "listen_host": "127.0.0.1", "listen_port": 0,
                                           "poll_interval_seconds": 300, "workers": 2},
                               "api": {"webhook_secret": SECRET}}, {})
    built = gateway.build(settings, STEPS, intake)
    stop = threading.Event()
    runner = threading.Thread(target=gateway.serve, args=(built, stop, 10.0), daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: built.consumer.alive, 30, 0.2)
        yield built
    finally:
        stop.set()
        runner.join(30)


@pytest.fixture
def stack_for(admin_conn: Any) -> Iterator[Any]:
    """Deploy the stack for a gateway (its queue prefix taken from the gateway's queues), deleted afterwards."""
    names: list[str] = []

    def make(built: gateway.Gateway, **extra: Any) -> Deployment:
        suffix = built.services.settings.queues.notifications.removeprefix("heat-test-").split("-")[0]
        request = _request(suffix, built.http.url, **extra)
        names.append(request.name)
        deployed: Deployment = deploy(admin_conn, request, lambda line: None)
        return deployed

    yield make
    for name in names:
        delete(admin_conn, name, lambda line: None)


def test_the_stack_makes_segments_queues_subscriptions_and_alarms_on_signed_urls(
        admin_conn: Any, running: gateway.Gateway, stack_for: Any) -> None:
    deployed = stack_for(running, webhook_auth="signed")
    base = running.http.url
    suffix = deployed.queues["notifications"].removeprefix("heat-test-").split("-")[0]
    first = admin_conn.compute.get_aggregate(deployed.segment_ids[0])
    second = admin_conn.compute.get_aggregate(deployed.segment_ids[1])
    assert (first.name, sorted(first.hosts)) == (f"heat-test-{suffix}-a", ["compute3", "compute4"])
    assert first.metadata == {"vmha:enabled": "true", "vmha:recovery_method": "rh_priority",
                              "vmha:reserved_hosts": "compute4", "vmha:maintenance_hosts": "",
                              "vmha:fencing": "required", "vmha:rto_seconds": "180",
                              "vmha:return_to_service": "manual", "vmha:flap_window_seconds": "3600",
                              "vmha:failback": "none", "vmha:evacuate_all_instances": "false",
                              "vmha:mass_failure_share": "0.75",
                              "vmha:excluded_tags": "amphora,pets", "vmha:excluded_projects": "",
                              "vmha:excluded_images": "", "vmha:stack": f"heat-test-{suffix}"}
    assert (second.hosts, second.metadata["vmha:enabled"], second.metadata["vmha:rto_seconds"]) == (
        ["compute2"], "false", "")
    assert parse_segment(second.name, tuple(second.hosts), second.metadata).policy == SegmentPolicy(), (
        "an entry without a policy of its own keeps the gateway's settings")
    owned = requests.put(f"{base}/v1/segments/{first.uuid}", json={"segment": {"description": "mine"}},
                         headers={"X-Auth-Token": admin_conn.session.get_token()}, timeout=60)
    assert owned.status_code == 409 and f"Heat stack heat-test-{suffix}" in owned.json()["conflict"]["message"]
    urls = deployed.webhook_urls
    assert urls["zaqar"].startswith(f"{base}{ZAQAR_PATH}?expires=") and "&signature=" in urls["zaqar"]
    assert urls["aodh"].startswith(f"{base}{AODH_PATH}?expires=") and "&signature=" in urls["aodh"]
    client = helpers.zaqar(admin_conn)
    for role in ("notifications", "steps"):
        [subscription] = list(client.subscriptions(deployed.queues[role]))
        pushed = {"vmha_queue": role, "_retry_policy": PUSH_RETRY_POLICY}
        assert (subscription.subscriber, subscription.options) == (urls["zaqar"], pushed)
    alarm = aodh_client.Client("2", session=admin_conn.session).alarm.get(deployed.alarm_ids["instance_error"])
    assert (alarm["type"], alarm["repeat_actions"], alarm["alarm_actions"]) == ("event", True, [urls["aodh"]])
    assert alarm["event_rule"]["event_type"] == "compute.instance.update"
    assert deployed.alarm_ids["recovery_failed"] is None, "an escalation alarm without an escalation_url"
    assert deployed.function_urls["evacuate_instance"] == base + "/v1/functions/evacuate_instance/executions"
    stack = admin_conn.orchestration.get_stack(admin_conn.orchestration.find_stack(f"heat-test-{suffix}").id)
    assert SECRET not in str(stack.parameters) and "signature" not in str(stack.parameters), "hidden parameters"
    for path in (ZAQAR_PATH, AODH_PATH):
        assert requests.post(base + path, json={}, timeout=30).status_code == 401


def test_a_message_posted_to_the_deployed_queue_reaches_the_gateway_through_the_subscription(
        admin_conn: Any, running: gateway.Gateway, stack_for: Any) -> None:
    deployed = stack_for(running)
    queues = deployed.queues
    assert deployed.webhook_urls["zaqar"] == f"trust+{running.http.url}{ZAQAR_PATH}"
    pushes = running.consumer.wakeup.generation  # only a push (or a stop) moves it here
    notification = Notification(uuid.uuid4(), "heat-test", "compute3", utc_now(),
                                ProcessPayload(ProcessEvent.STARTED, "nova-compute"))
    helpers.zaqar(admin_conn).queue(queues["notifications"], auto_create=False).post(
        [{"body": notification.to_dict(), "ttl": 300}])
    journal = running.services.journal
    assert wait_until(lambda: journal.get_notification(str(notification.id)) is not None, 30, 0.2)
    assert running.consumer.wakeup.generation > pushes, "recorded, but no push from the subscription came"


def test_the_deployed_alarm_fires_on_a_nova_event_and_invokes_intake_at_the_gateway(
        admin_conn: Any, running: gateway.Gateway, stack_for: Any) -> None:
    deployed = stack_for(running)
    assert deployed.webhook_urls["aodh"] == f"trust+{running.http.url}{AODH_PATH}"
    alarm_id = deployed.alarm_ids["instance_error"]
    [server] = helpers.boot_servers(admin_conn, "compute2", 1, f"heat-test-{uuid.uuid4().hex[:6]}",
                                    metadata={"HA_Enabled": "True"})
    journal = running.services.journal
    try:
        admin_conn.compute.reset_server_state(server, "error")  # Nova: compute.instance.update, state error
        assert wait_until(lambda: bool(_from_alarm(journal, alarm_id)), 90, 0.5), "the alarm never reached the gateway"
    finally:
        helpers.delete_servers(admin_conn, [server])
    # Nova may send more than one update in state error (repeat_actions: each is an alarm and a notification).
    records = _from_alarm(journal, alarm_id)
    assert {(record.type, record.hostname, record.payload["instance_uuid"], record.payload["event"])
            for record in records} == {("VM", "compute2", server.id, "LIFECYCLE")}


def _from_alarm(journal: Journal, alarm_id: str) -> list[Any]:
    return [record for record in journal.list_notifications() if record.source == f"aodh/{alarm_id}"]
