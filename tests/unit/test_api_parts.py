"""Gateway API parts that need no cloud: SigV4 as Keystone checks it against botocore's own signature, webhook
signatures, an Aodh alarm body (as the local cloud's Aodh sends it) as a VM notification, microversion parsing,
and the journal's executions."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import openstack
import pytest
import webob
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from keystoneclient.contrib.ec2.utils import Ec2Signer  # type: ignore[import-untyped]

from vmha.api import auth, keystone_filter, sigv4, versions, webhooks
from vmha.api.policy import Caller
from vmha.api.web import ApiError
from vmha.contracts import VmPayload
from vmha.journal import ExecutionStatus, Journal, NotificationStatus

from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, new_notification

URL = "http://127.0.0.1:15868/2015-03-31/functions/fence_host/invocations"
SECRET = "s3cret"
CALLER = Caller("user:u1", "u1", "p1", ("admin",))


def signed_request(body: bytes, secret: str = SECRET, region: str = "RegionOne") -> webob.Request:
    """A request signed by botocore exactly as boto3's lambda client signs it."""
    aws = AWSRequest(method="POST", url=URL, data=body, headers={"X-Amz-Invocation-Type": "RequestResponse"})
    SigV4Auth(Credentials("AKIDTEST", secret), "lambda", region).add_auth(aws)
    request = webob.Request.blank("/2015-03-31/functions/fence_host/invocations", method="POST",
                                  base_url="http://127.0.0.1:15868", body=body)
    for name, value in aws.headers.items():
        request.headers[name] = value.decode() if isinstance(value, bytes) else value
    return request


def keystone(secret: str) -> Callable[[Mapping[str, Any]], Caller]:
    """What Keystone's ec2tokens does with the credentials, with keystoneclient's own signer (Keystone's):
    the caller when the signature is the one ``secret`` makes, 403 otherwise (Keystone runs in the
    integration tests; here only its signature check)."""
    def identify(credentials: Mapping[str, Any]) -> Caller:
        if Ec2Signer(secret).generate(dict(credentials)) != credentials["signature"]:
            raise ApiError(403, "The request signature we calculated does not match the signature you provided.")
        return CALLER
    return identify


def test_sigv4_sends_keystone_what_verifies_botocores_signature() -> None:
    assert sigv4.verify(signed_request(b'{"a": 1}'), b'{"a": 1}', keystone(SECRET), datetime.now(UTC)) == CALLER


@pytest.mark.parametrize(("change", "words"), [
    ({"body": b'{"a": 2}'}, "does not match"),
    ({"secret": "guess"}, "does not match"),
    ({"skew": timedelta(minutes=20)}, "Signature expired"),
    ({"authorization": "Bearer x"}, "Missing or malformed SigV4"),
])
def test_sigv4_refuses_tampered_unsigned_or_stale_requests(change: dict[str, Any], words: str) -> None:
    request = signed_request(b'{"a": 1}', secret=change.get("secret", SECRET))
    if "authorization" in change:
        request.headers["Authorization"] = change["authorization"]
    with pytest.raises(ApiError) as raised:
        sigv4.verify(request, change.get("body", b'{"a": 1}'), keystone(SECRET),
                     datetime.now(UTC) + change.get("skew", timedelta(0)))
    assert raised.value.status == 403 and words in raised.value.message


def test_a_webhook_signature_covers_the_path_and_the_expiry() -> None:
    url = webhooks.signed_url("http://gw:1/", webhooks.AODH_PATH, "k", 2_000_000_000)
    request = webob.Request.blank(url.removeprefix("http://gw:1"))
    webhooks.verify(request, "k", now=1_900_000_000)
    for other in (url.replace("2000000000", "2000000001"), url.replace("aodh", "zaqar")):
        with pytest.raises(ApiError) as raised:
            webhooks.verify(webob.Request.blank(other.removeprefix("http://gw:1")), "k", now=1_900_000_000)
        assert raised.value.status == 403
    with pytest.raises(ApiError) as disabled:
        webhooks.verify(request, "", now=1_900_000_000)
    assert "disabled" in disabled.value.message


AODH_BODY = {
    "alarm_name": "vm1-power-off", "alarm_id": "c2193fad-9256-4ebe-b0d7-33e4b2638c07", "severity": "low",
    "previous": "insufficient data", "current": "alarm", "reason": "Event <...> hits the query <...>.",
    "reason_data": {"type": "event", "event": {
        "message_id": "732f50a1-2974-4e77-bc71-ad2d549a78d5", "event_type": "compute.instance.power_off.end",
        "generated": "2026-11-25T02:52:26.411048",
        "traits": [["service", 1, "compute"], ["instance_id", 1, "d0c73c62-76d0-44be-b8b8-3b187bc4e129"],
                   ["host", 1, "compute1"], ["memory_mb", 2, 512], ["state", 1, "stopped"]],
        "raw": {}, "message_signature": "fff42f"}},
}


def test_an_aodh_instance_event_alarm_is_a_vm_notification_with_a_stable_id() -> None:
    hosts = {"d0c73c62-76d0-44be-b8b8-3b187bc4e129": "compute3"}  # Nova's answer; the event says compute1

    notification = webhooks.alarm_notification(AODH_BODY, hosts.get)
    assert notification.hostname == "compute3" and notification.source == f"aodh/{AODH_BODY['alarm_id']}"
    assert isinstance(notification.payload, VmPayload)
    assert str(notification.payload.instance_uuid) == "d0c73c62-76d0-44be-b8b8-3b187bc4e129"
    assert notification.generated_time == datetime(2026, 11, 25, 2, 52, 26, 411048, tzinfo=UTC)
    assert webhooks.alarm_notification(json.loads(json.dumps(AODH_BODY)), hosts.get).id == notification.id
    with pytest.raises(ApiError, match="no server d0c73c62"):
        webhooks.alarm_notification(AODH_BODY, lambda instance: None)


@pytest.mark.parametrize(("header", "expected"), [
    (None, (1, 0)), ("instance-ha 1.1", (1, 1)), ("compute 2.1, instance-ha latest", (1, 3)),
    ("instance-ha 1.9", 406), ("instance-ha 1.x", 400), ("instance-ha 0.9", 406),
])
def test_microversions(header: str | None, expected: tuple[int, int] | int) -> None:
    request = webob.Request.blank("/v1/segments", headers={versions.HEADER: header} if header else {})
    if isinstance(expected, tuple):
        assert versions.requested(request) == expected
        return
    with pytest.raises(ApiError) as raised:
        versions.requested(request)
    assert raised.value.status == expected


def test_executions_record_their_input_and_first_outcome(journal: Journal) -> None:
    execution_id = str(uuid.uuid4())
    running = journal.begin_execution(execution_id, "fence_host", {"step": "fence_host"}, sync=False)
    assert running.status is ExecutionStatus.RUNNING and running.output is None
    ended = journal.end_execution(execution_id, ExecutionStatus.SUCCESS, {"outcome": "done"}, 0.25)
    again = journal.end_execution(execution_id, ExecutionStatus.FAILED, {"errorType": "X"}, 9.0)
    assert again == ended and journal.get_execution(execution_id) == ended
    assert (ended.output, ended.duration_seconds, ended.input) == ({"outcome": "done"}, 0.25, {"step": "fence_host"})
    assert journal.get_execution(str(uuid.uuid4())) is None


def test_notifications_are_counted_by_status(journal: Journal) -> None:
    for host in ("h1", "h2"):
        journal.record_notification(new_notification(host), dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    counts = journal.count_notifications()
    assert counts[NotificationStatus.NEW] == 2 and counts[NotificationStatus.FAILED] == 0
    assert set(counts) == set(NotificationStatus)


def test_the_keystone_filter_starts_without_warnings_about_its_auth_plugin_options(
        caplog: pytest.LogCaptureFixture) -> None:
    cloud = openstack.connect(auth_type="password", auth_url="http://127.0.0.1:9/v3", username="u", password="p",
                              project_name="p", user_domain_name="Default", project_domain_name="Default",
                              load_yaml_config=False, load_envvars=False)
    with caplog.at_level(logging.WARNING, logger="keystonemiddleware"):
        keystone_filter(cloud, "")(lambda environ, start_response: [b""])
        logging.getLogger("keystonemiddleware._common.config").warning(auth._UNKNOWN_OPTION, "colour")
    assert [record.getMessage() for record in caplog.records if "not known" in record.getMessage()] == [
        'The option "colour" is not known to keystonemiddleware']
