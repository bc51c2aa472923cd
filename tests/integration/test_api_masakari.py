"""The gateway's Masakari v1 API, driven by openstacksdk's instance_ha proxy (what python-masakariclient and
masakari-monitors use) through the local cloud's Keystone catalog, and by raw requests for the edge cases.

The segment is a fresh aggregate whose members are made-up reserved hosts, one of them in maintenance (no real host, so
no other test's segment is disturbed); it is disabled, so the consumers' intake ignores what arrives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import catalog
from tests.cloud.layout import REGION, Layout
from tests.cloud.procs import wait_until
from vmha.api.versions import HEADER
from vmha.cloud.segments import host_uuid
from vmha.functions import STEPS, intake

from .api_support import Running, api_settings, serving
from .runtime_support import Place


@dataclass(frozen=True)
class Masakari:
    api: Running
    segment: Any
    spare: str
    resting: str
    sdk: Any

    def post(self, notification: dict[str, Any], **headers: str) -> Any:
        return self.api.call("POST", "/v1/notifications", json={"notification": notification}, headers=headers)


@pytest.fixture
def masakari(cloud_layout: Layout, admin_conn: Any, tmp_path: Path) -> Iterator[Masakari]:
    suffix = uuid.uuid4().hex[:8]
    spare, resting = f"api-{suffix}-spare", f"api-{suffix}-resting"
    place = Place(tmp_path, admin_conn)
    aggregate = admin_conn.compute.create_aggregate(name=f"vmha-api-{suffix}")
    identity = admin_conn.identity
    service = identity.create_service(name=f"vmha-api-{suffix}", type="instance-ha")
    try:
        admin_conn.compute.set_aggregate_metadata(aggregate, {
            "vmha:enabled": "false", "vmha:recovery_method": "reserved_host",
            "vmha:reserved_hosts": f"{spare},{resting}", "vmha:maintenance_hosts": resting})
        with serving(cloud_layout, api_settings(place), STEPS, intake) as api:
            for interface in ("public", "internal", "admin"):
                identity.create_endpoint(service_id=service.id, interface=interface, region_id=REGION,
                                         url=api.url + "/v1")
            sdk = catalog.connect(cloud_layout, "vmha-admin")  # a new token: its catalog has the gateway
            try:
                yield Masakari(api, aggregate, spare, resting, sdk)
            finally:
                sdk.close()
    finally:
        for endpoint in identity.endpoints(service_id=service.id):
            identity.delete_endpoint(endpoint)
        identity.delete_service(service)
        admin_conn.compute.delete_aggregate(aggregate)
        place.delete()


def host_failure(host: str, generated_time: str | None = None) -> dict[str, Any]:
    return {"type": "COMPUTE_HOST", "hostname": host,
            "generated_time": generated_time or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "payload": {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}}


def test_openstacksdk_creates_lists_and_shows_notifications(masakari: Masakari) -> None:
    proxy = masakari.sdk.instance_ha
    created = proxy.create_notification(**host_failure(masakari.spare))
    assert created.status == "new" and created.hostname == masakari.spare
    assert created.id in {notification.id for notification in proxy.notifications()}
    assert wait_until(lambda: proxy.get_notification(created.id).status == "ignored", 60, 0.5)
    shown = proxy.get_notification(created.id)
    assert shown.payload == host_failure(masakari.spare)["payload"] and shown.type == "COMPUTE_HOST"
    assert [n.id for n in proxy.notifications(status="ignored", type="COMPUTE_HOST")] == [created.id]


def test_openstacksdk_lists_segments_and_their_hosts(masakari: Masakari) -> None:
    proxy = masakari.sdk.instance_ha
    [segment] = [segment for segment in proxy.segments() if segment.name == masakari.segment.name]
    assert segment.id == masakari.segment.uuid and segment.recovery_method == "reserved_host"
    assert segment.is_enabled is False
    hosts = {host.name: host for host in proxy.hosts(segment.id)}
    assert set(hosts) == {masakari.spare, masakari.resting}
    assert hosts[masakari.spare].reserved is True and hosts[masakari.spare].on_maintenance is False
    assert hosts[masakari.resting].on_maintenance is True
    assert proxy.get_segment(segment.id).name == masakari.segment.name


def test_version_discovery_and_microversions(masakari: Masakari) -> None:
    api = masakari.api
    assert api.call("GET", "/", token=None).json()["versions"][0]["version"] == "1.3"
    assert api.call("GET", "/v1", token=None).json()["version"]["min_version"] == "1.0"
    nid = masakari.post(host_failure(masakari.spare)).json()["notification"]["id"]
    assert wait_until(lambda: api.call("GET", f"/v1/notifications/{nid}").json()["notification"]["status"]
                      == "ignored", 60, 0.5)
    old = api.call("GET", f"/v1/notifications/{nid}")
    assert old.headers[HEADER] == "instance-ha 1.0" and "recovery_workflow_details" not in old.json()["notification"]
    new = api.call("GET", f"/v1/notifications/{nid}", headers={HEADER: "instance-ha 1.1"})
    [intake_details] = new.json()["notification"]["recovery_workflow_details"]
    assert intake_details["name"] == "intake" and "segment" in intake_details["progress_details"][0]["message"]
    too_new = api.call("GET", f"/v1/notifications/{nid}", headers={HEADER: "instance-ha 1.9"})
    assert too_new.status_code == 406 and "maximum is 1.3" in too_new.json()["notAcceptable"]["message"]
    assert api.call("GET", "/v1/segments", headers={HEADER: "instance-ha one"}).status_code == 400


@pytest.mark.parametrize(("change", "status", "shape", "words"), [
    ({"payload": {"event": "stopped", "host_status": "NORMAL"}}, 400, "badRequest", "payload/event"),
    ({"generated_time": "yesterday"}, 400, "badRequest", "generated_time"),
    ({"hostname": "no-such-host"}, 400, "badRequest", "Host with name no-such-host could not be found"),
    ({"colour": "red"}, 400, "badRequest", "'colour' was unexpected"),
    ({"type": None}, 400, "badRequest", "type"),
    ({"generated_time": "9999-12-31T23:59:59-05:00"}, 400, "badRequest", "generated_time"),
    ({"generated_time": "9999-12-31T23:59:59Z"}, 400, "badRequest", "out of range"),
])
def test_bad_notifications_are_refused_as_masakari_refuses_them(
    masakari: Masakari, change: dict[str, Any], status: int, shape: str, words: str
) -> None:
    answer = masakari.post({**host_failure(masakari.spare), **change})
    assert answer.status_code == status and words in answer.json()[shape]["message"]
    assert masakari.api.count("notifications") == 0


def test_maintenance_and_duplicates_are_conflicts(masakari: Masakari) -> None:
    resting = masakari.post(host_failure(masakari.resting))
    assert resting.status_code == 409 and "under maintenance" in resting.json()["conflict"]["message"]
    first = masakari.post(host_failure(masakari.spare, "2026-01-01T10:00:00"))
    assert first.status_code == 202
    again = masakari.post(host_failure(masakari.spare, "2026-01-01T10:00:05"))
    assert again.status_code == 409 and first.json()["notification"]["id"] in again.json()["conflict"]["message"]
    assert masakari.api.count("notifications") == 1


def test_malformed_bodies_tokens_and_unknown_ids(masakari: Masakari) -> None:
    api = masakari.api
    assert api.call("POST", "/v1/notifications", data=b"{nope").json()["badRequest"]["code"] == 400
    for junk in (b"[" * 5000 + b"]" * 5000, b'{"notification": ' * 40 + b"1" + b"}" * 40):
        answer = api.call("POST", "/v1/notifications", data=junk).json()["badRequest"]
        assert answer["message"] == "malformed request body: JSON nested deeper than 32 levels"
    for junk in (b'{"a": "\ud800"}', b'{"a": "\xff"}', b"9" * 5000, b'{"a": 1e999}'):
        assert api.call("POST", "/v1/notifications", data=junk).status_code == 400, junk
    assert api.call("POST", "/v1/notifications", json={"notification": {"x": "y" * 70000}}).status_code == 413
    assert api.call("POST", "/v1/notifications", json=host_failure(masakari.spare)).status_code == 400
    assert api.call("POST", "/v1/notifications", token=None, json={}).status_code == 401
    assert api.call("GET", f"/v1/notifications/{uuid.uuid4()}").json()["itemNotFound"]["code"] == 404
    assert api.call("GET", f"/v1/segments/{uuid.uuid4()}").status_code == 404
    assert api.call("DELETE", "/v1/segments").json()["badMethod"]["code"] == 405
    assert api.count("notifications") == 0


def test_notifications_sort_and_page_in_any_order(masakari: Masakari) -> None:
    api, payloads = masakari.api, [{"event": "STOPPED", "host_status": status, "cluster_status": cluster}
                                   for status, cluster in (("NORMAL", "ONLINE"), ("UNKNOWN", "OFFLINE"),
                                                           ("UNKNOWN", "ONLINE"))]
    ids = {}
    for minute, payload in zip((2, 3, 1), payloads, strict=True):
        sent = {**host_failure(masakari.spare, f"2026-01-01T10:0{minute}:00"), "payload": payload}
        ids[minute] = masakari.post(sent).json()["notification"]["id"]

    def page(query: str) -> list[str]:
        answer = api.call("GET", f"/v1/notifications?{query}")
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["notifications"]]

    assert page("") == [ids[1], ids[3], ids[2]]
    assert page("limit=2") == [ids[1], ids[3]] and page(f"marker={ids[3]}") == [ids[2]]
    assert page("sort_key=generated_time&sort_dir=asc&limit=2") == [ids[1], ids[2]]
    assert page(f"sort_key=generated_time&sort_dir=asc&marker={ids[2]}") == [ids[3]]
    assert page(f"sort_key=generated_time&source_host_uuid={host_uuid(masakari.spare)}&limit=1") == [ids[3]]
    assert page(f"source_host_uuid={uuid.uuid4()}") == []


@pytest.mark.parametrize(("call", "body", "status"), [
    ("POST /v1/segments", {"segment": {"name": "", "recovery_method": "auto", "service_type": "C"}}, 400),
    ("POST /v1/segments", [], 400),
    ("POST /v1/segments", {"segment": {"name": "x", "recovery_method": "auto", "service_type": "C",
                                          "enabled": True}}, 400),
    ("PUT /v1/segments/{segment}", {"segment": {"recovery_method": 1}}, 400),
    ("PUT /v1/segments/{segment}", {"segment": {}}, 400),
    ("PUT /v1/segments/no-such-segment", {"segment": {"description": "x"}}, 404),
    ("DELETE /v1/segments/no-such-segment", None, 404),
    ("POST /v1/segments/{segment}/hosts", {"host": {"name": "x"}}, 400),
    ("POST /v1/segments/{segment}/hosts", {"host": {"name": "no-such-compute", "type": "A",
                                                       "control_attributes": ""}}, 400),
    ("POST /v1/segments/{segment}/hosts", {"host": {"name": "compute1", "type": "COMPUTE_HOST",
                                                       "control_attributes": ""}}, 400),
    ("PUT /v1/segments/{segment}/hosts/no-such-host", {"host": {"reserved": True}}, 404),
    ("DELETE /v1/segments/{segment}/hosts/no-such-host", None, 404),
    ("GET /v1/segments?sort_key=colour", None, 400),
    ("GET /v1/segments?limit=-1", None, 400),
    ("GET /v1/segments?marker=nobody", None, 400),
    ("GET /v1/segments?enabled=maybe", None, 400),
    ("GET /v1/segments/{segment}/hosts?reserved=maybe", None, 400),
    ("GET /v1/notifications?sort_dir=sideways", None, 400),
    (f"GET /v1/notifications?marker={uuid.uuid4()}", None, 400),
    ("GET /v1/notifications?generated-since=yesterday", None, 400),
    ("GET /v1/notifications?status=bogus", None, 400),
    (f"GET /v1/notifications/{uuid.uuid4()}/vmoves/{uuid.uuid4()}", None, 404),
])
def test_bad_writes_and_queries_get_masakari_errors_and_change_nothing(
        masakari: Masakari, admin_conn: Any, call: str, body: Any, status: int) -> None:
    before, (method, path) = admin_conn.compute.get_aggregate(masakari.segment.id), call.split(" ", 1)
    answer = masakari.api.call(method, path.format(segment=masakari.segment.uuid), json=body,
                               headers={HEADER: "instance-ha 1.1" if "enabled" in str(body) else "instance-ha 1.3"})
    assert answer.status_code == status, answer.text
    [(shape, error)] = answer.json().items()
    assert (shape, error["code"]) == ({400: "badRequest", 404: "itemNotFound"}[status], status)
    after = admin_conn.compute.get_aggregate(masakari.segment.id)
    assert (after.name, after.hosts, after.metadata) == (before.name, before.hosts, before.metadata)
