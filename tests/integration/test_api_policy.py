"""The gateway's policy on the real Keystone: a member's token (the demo user) and its EC2 credential are refused
on the Masakari writes and the Lambda invoke, the admin's pass, an operator's policy.yaml changes the answer;
every such call leaves an audit row naming who, what and the request id; an Aodh alarm cannot restart a
server of another project."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from aodhclient import client as aodh_client

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.runtime_steps import Effects, intake, make_table
from vmha.api import AODH_PATH, signed_url

from .api_support import WEBHOOK_SECRET, Running, api_settings, ec2_credential, serving
from .runtime_support import Place

SEGMENT = {"segment": {"name": "", "recovery_method": "auto", "service_type": "COMPUTE"}}


@pytest.fixture
def api(cloud_layout: Layout, place: Place, tmp_path: Path) -> Iterator[Running]:
    with serving(cloud_layout, api_settings(place), make_table(Effects(tmp_path / "effects")), intake) as running:
        yield running


def invoke_dry(api: Running, key: tuple[str, str]) -> int:
    """The status of a DryRun invocation of the intake (a valid notification, checked, not run) signed with
    ``key``: 204, or 403 for a policy refusal."""
    notification = {"id": str(uuid.uuid4()), "source": "test", "type": "PROCESS", "hostname": "h1",
                    "generated_time": "2026-12-04T12:00:00Z",
                    "payload": {"event": "STOPPED", "process_name": "ignore:test"}}
    client = api.lambda_client(key=key)
    try:
        answer = client.invoke(FunctionName="intake", InvocationType="DryRun",
                               Payload=json.dumps(notification).encode())
    except botocore.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDeniedException", error.response
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])
    return int(answer["StatusCode"])


def audit_rows(api: Running, **query: str) -> list[dict[str, Any]]:
    answer = api.call("GET", "/v1/audit", params=query)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["audit"]
    return rows


def test_a_member_is_refused_the_writes_and_the_lambda_invoke_and_every_call_is_audited(
        api: Running, demo_conn: Any, admin_conn: Any) -> None:
    member = demo_conn.session.get_token()
    name = f"vmha-policy-{uuid.uuid4().hex[:8]}"
    body = {"segment": {**SEGMENT["segment"], "name": name}}
    refused = api.call("POST", "/v1/segments", token=member, json=body)
    assert refused.status_code == 403
    assert refused.json()["forbidden"]["message"] == "Policy doesn't allow os_masakari_api:segments:create to be " \
                                                     "performed."
    notification = {"notification": {"type": "COMPUTE_HOST", "hostname": "nowhere", "payload": {"event": "STOPPED"},
                                     "generated_time": "2026-12-04T12:00:00"}}
    assert api.call("POST", "/v1/notifications", token=member, json=notification).status_code == 403
    assert api.call("GET", "/v1/segments", token=member).status_code == 403
    assert api.call("GET", "/v1/audit", token=member).status_code == 403
    with ec2_credential(demo_conn) as demo_key:
        assert invoke_dry(api, demo_key) == 403
    assert invoke_dry(api, api.key) == 204
    created = api.call("POST", "/v1/segments", json=body)
    try:
        assert created.status_code == 201, created.text
    finally:
        if created.status_code == 201:
            assert api.call("DELETE", f"/v1/segments/{created.json()['segment']['uuid']}").status_code == 204
    assert not [aggregate for aggregate in admin_conn.compute.aggregates() if aggregate.name == name]

    rows = audit_rows(api)
    denied = [(row["rule"], row["user_id"], row["project_id"]) for row in rows if row["decision"] == "denied"]
    assert set(denied) == {("os_masakari_api:segments:create", demo_conn.current_user_id, demo_conn.current_project_id),
                           ("os_masakari_api:notifications:create", demo_conn.current_user_id,
                            demo_conn.current_project_id),
                           ("vmha:functions:invoke", demo_conn.current_user_id, demo_conn.current_project_id)}
    allowed = {row["rule"]: row for row in rows if row["decision"] == "allowed"}
    assert set(allowed) == {"vmha:functions:invoke", "os_masakari_api:segments:create",
                            "os_masakari_api:segments:delete"}  # the reads are not audited
    invoke = allowed["vmha:functions:invoke"]
    assert (invoke["user_id"], invoke["target"], invoke["status"]) == (admin_conn.current_user_id, "name=intake", 204)
    assert refused.headers["x-openstack-request-id"] in {row["request_id"] for row in rows}
    assert all(row["request_id"].startswith("req-") and row["at"] for row in rows)
    [newest] = audit_rows(api, decision="denied", limit="1")
    assert newest == next(row for row in rows if row["decision"] == "denied")  # newest first


def test_an_operators_policy_file_changes_the_answer(
        cloud_layout: Layout, place: Place, tmp_path: Path, demo_conn: Any) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"vmha:functions:invoke": "role:member"\n"os_masakari_api:segments:index": "role:reader"\n')
    (tmp_path / "vmha.conf").write_text(f"[oslo_policy]\npolicy_file = {policy}\n")
    settings = api_settings(place, config_file=str(tmp_path / "vmha.conf"))
    with serving(cloud_layout, settings, make_table(Effects(tmp_path / "effects")), intake) as api, \
            ec2_credential(demo_conn) as demo_key:
        member = demo_conn.session.get_token()
        assert api.call("GET", "/v1/segments", token=member).status_code == 200
        assert invoke_dry(api, demo_key) == 204
        assert api.call("POST", "/v1/segments", token=member, json=SEGMENT).status_code == 403  # still a default
        policy.write_text('"os_masakari_api:segments:index": "!"\n')
        os.utime(policy, (time.time() + 5,) * 2)  # oslo.policy re-reads a file whose modification time changed
        assert api.call("GET", "/v1/segments").status_code == 403  # not even the admin now
        [row] = [row for row in audit_rows(api) if row["rule"] == "vmha:functions:invoke"]
    assert (row["decision"], row["user_id"]) == ("allowed", demo_conn.current_user_id)


def test_an_aodh_alarm_cannot_restart_a_server_of_another_project(
        api: Running, admin_conn: Any, demo_conn: Any) -> None:
    host = next(service.host for service in admin_conn.compute.services(binary="nova-compute")
                if service.state == "up" and service.status == "enabled")
    suffix = uuid.uuid4().hex[:8]
    alarms = aodh_client.Client("2", session=demo_conn.session)
    servers = helpers.boot_servers(admin_conn, host, 1, f"api-policy-{suffix}")
    alarm: dict[str, Any] = {}
    try:
        alarm = alarms.alarm.create({"name": f"vmha-policy-{suffix}", "type": "event", "repeat_actions": False,
                                     "event_rule": {"event_type": "compute.instance.power_off.end"}})
        body = {"alarm_id": alarm["alarm_id"], "alarm_name": alarm["name"], "current": "alarm", "previous": "ok",
                "reason_data": {"type": "event", "event": {"message_id": str(uuid.uuid4()),
                                                           "traits": [["instance_id", 1, servers[0].id]]}}}
        url = signed_url(api.url, AODH_PATH, WEBHOOK_SECRET, int(time.time()) + 600)
        answer = api.call("POST", url.removeprefix(api.url), token=None, data=json.dumps(body),
                          headers={"Content-Type": "application/json"})
    finally:
        if alarm:
            alarms.alarm.delete(alarm["alarm_id"])
        helpers.delete_servers(admin_conn, servers)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == (f"server {servers[0].id} is not in the alarm's project "
                                                 f"{demo_conn.current_project_id}: not restarted")
    assert api.gateway.services.journal.list_notifications() == ()
    [row] = [row for row in audit_rows(api) if row["rule"] == "vmha:webhooks:aodh"]
    assert (row["decision"], row["identity"], row["target"]) == ("denied", "webhook:aodh", f"alarm:{alarm['alarm_id']}")
    assert "not in the alarm's project" in row["reason"]
