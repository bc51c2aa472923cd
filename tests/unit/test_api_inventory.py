"""The Masakari API's segment and host writes: request validation, Masakari's error codes, Heat's ownership,
segments under recovery, list paging/sorting/filters, and nothing half-written in Nova when a call fails.

Nova is the fake of ``fake_nova`` (its failures on demand cannot be provoked on the real one: vmha's checks
refuse every input Nova would); tests/integration/test_api_masakari_client.py drives the real Nova."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import webob
from openstack import exceptions

from vmha.api import versions
from vmha.api.bodies import host_fields, segment_fields
from vmha.api.hosts import Hosts
from vmha.api.inventory import found_segments
from vmha.api.listing import Listing, arrange, flag, listing
from vmha.api.segments import Inventory, Segments
from vmha.api.vmoves import VMoves
from vmha.api.web import ApiError
from vmha.cloud.segments import host_uuid
from vmha.journal import InstanceStatus, Journal
from vmha.templates import load_example

from .fake_nova import FakeCloud, FakeCompute, http_error
from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, new_notification

NEWEST = {versions.HEADER: "instance-ha 1.3"}


class Api:
    """The segment and host routes over a fake Nova (hosts compute1..4) and a real journal."""

    def __init__(self, journal: Journal) -> None:
        self.cloud = FakeCloud(("compute1", "compute2", "compute3", "compute4"))
        inventory = Inventory(self.cloud, journal, 65536)
        self.segments, self.hosts = Segments(inventory), Hosts(inventory)

    @property
    def nova(self) -> FakeCompute:
        return self.cloud.compute

    def call(self, handler: Any, method: str = "GET", body: Any = None, query: str = "",
             version: str = "1.3", **params: str) -> webob.Response:
        request = webob.Request.blank("/v1/x" + (f"?{query}" if query else ""), method=method,
                                      body=b"" if body is None else json.dumps(body).encode())
        request.environ[versions.ENVIRON_KEY] = tuple(int(part) for part in version.split("."))
        response: webob.Response = handler(request, params)
        return response

    def refused(self, handler: Any, *args: Any, **kwargs: Any) -> ApiError:
        with pytest.raises(ApiError) as raised:
            self.call(handler, *args, **kwargs)
        return raised.value

    def segment(self, name: str = "rack-1", **fields: Any) -> dict[str, Any]:
        body = {"segment": {"name": name, "recovery_method": "auto", "service_type": "COMPUTE", **fields}}
        created: dict[str, Any] = self.call(self.segments.create, "POST", body).json["segment"]
        return created

    def host(self, segment_id: str, name: str, **fields: Any) -> webob.Response:
        body = {"host": {"name": name, "type": "COMPUTE", "control_attributes": "SSH", **fields}}
        return self.call(self.hosts.create, "POST", body, segment_id=segment_id)


@pytest.fixture
def api(journal: Journal) -> Api:
    return Api(journal)


@pytest.mark.parametrize(("body", "version", "words"), [
    ({"segment": {"name": "a", "recovery_method": "auto"}}, (1, 3), "'service_type' is a required property"),
    ({"segment": {"name": " a", "recovery_method": "auto", "service_type": "C"}}, (1, 3), "segment/name"),
    ({"segment": {"name": "a\x07", "recovery_method": "auto", "service_type": "C"}}, (1, 3), "segment/name"),
    ({"segment": {"name": "a", "recovery_method": "fast", "service_type": "C"}}, (1, 3), "segment/recovery_method"),
    ({"segment": {"name": "a", "recovery_method": "auto", "service_type": "C", "enabled": "maybe"}}, (1, 3),
     "segment/enabled"),
    ({"segment": {"name": "a", "recovery_method": "auto", "service_type": "C", "enabled": True}}, (1, 1),
     "'enabled' was unexpected"),
    ({"segment": {"name": "a", "recovery_method": "auto", "service_type": "C", "description": "x" * 256}}, (1, 3),
     "segment/description: longer than 255"),
    ({"segment": {"name": "a", "recovery_method": "auto", "service_type": "C", "colour": "red"}}, (1, 3),
     "segment/colour"),
    ({"segments": {}}, (1, 3), "segment: required field is missing"),
])
def test_bad_segment_bodies_are_400_naming_the_field(body: Any, version: versions.Version, words: str) -> None:
    with pytest.raises(ApiError) as raised:
        segment_fields(body, version, creating=True)
    assert raised.value.status == 400 and words in raised.value.message


def test_segment_and_host_fields_take_masakari_booleans_and_updates_need_a_field() -> None:
    assert segment_fields(load_example("masakari_segment"), (1, 2), creating=True)["enabled"] is True
    assert host_fields(load_example("masakari_host"), creating=True)["reserved"] is False
    assert segment_fields({"segment": {"enabled": "NO"}}, (1, 2), creating=False) == {"enabled": False}
    assert host_fields({"host": {"reserved": "Yes", "on_maintenance": False}}, creating=False) == {
        "reserved": True, "on_maintenance": False}
    with pytest.raises(ApiError, match="at least one field"):
        segment_fields({"segment": {}}, (1, 3), creating=False)
    with pytest.raises(ApiError, match="at least one field"):
        host_fields({"host": {}}, creating=False)
    with pytest.raises(ApiError, match="host/type"):
        host_fields({"host": {"name": "c1", "type": "COMPUTE_HOST", "control_attributes": "x"}}, creating=True)


def test_a_segment_is_created_updated_and_deleted_on_its_aggregate(api: Api) -> None:
    created = api.segment(description="rack one", enabled=False)
    [aggregate] = api.nova.aggregate_list
    assert created["id"] == aggregate.uuid and created["enabled"] is False and created["description"] == "rack one"
    assert aggregate.metadata == {"vmha:enabled": "false", "vmha:recovery_method": "auto",
                                  "vmha:service_type": "COMPUTE", "vmha:description": "rack one"}
    changed = api.call(api.segments.update, "PUT", {"segment": {"name": "rack-2", "description": None}},
                       segment_id=created["id"]).json["segment"]
    assert (changed["name"], changed["description"], aggregate.name) == ("rack-2", None, "rack-2")
    assert "vmha:description" not in aggregate.metadata
    assert api.call(api.segments.show, version="1.0", segment_id="rack-2").json["segment"].get("enabled") is None
    api.host(created["id"], "compute1")
    assert api.call(api.segments.delete, "DELETE", segment_id=created["id"]).status_code == 204
    assert api.nova.aggregate_list == []


def test_segment_names_are_unique_and_unknown_segments_are_404(api: Api) -> None:
    first = api.segment("rack-1")
    api.segment("rack-2")
    body = {"segment": {"name": "rack-1", "recovery_method": "auto", "service_type": "COMPUTE"}}
    assert api.refused(api.segments.create, "POST", body).status == 409
    assert api.refused(api.segments.update, "PUT", {"segment": {"name": "rack-2"}}, segment_id=first["id"]).status \
        == 409
    assert [aggregate.name for aggregate in api.nova.aggregate_list] == ["rack-1", "rack-2"]
    for handler, method in ((api.segments.show, "GET"), (api.segments.delete, "DELETE")):
        assert api.refused(handler, method, segment_id="no-such").status == 404


def test_hosts_must_be_compute_services_in_no_other_segment(api: Api) -> None:
    one, two = api.segment("rack-1")["id"], api.segment("rack-2")["id"]
    assert api.host(one, "compute1", reserved="True").json["host"]["reserved"] is True
    with pytest.raises(ApiError) as unknown:
        api.host(one, "compute9")
    assert unknown.value.status == 400 and "Compute service with name compute9" in unknown.value.message
    with pytest.raises(ApiError) as taken:
        api.host(two, "compute1")
    assert taken.value.status == 409 and "rack-1" in taken.value.message
    assert api.refused(api.hosts.show, segment_id=two, host_id=host_uuid("compute1")).status == 404
    assert [aggregate.hosts for aggregate in api.nova.aggregate_list] == [["compute1"], []]


def test_host_updates_keep_the_order_of_spares_and_rename_moves_the_host(api: Api) -> None:
    segment = api.segment("rack-1", recovery_method="reserved_host")["id"]
    for name in ("compute1", "compute2"):
        api.host(segment, name, reserved=True)
    api.call(api.hosts.update, "PUT", {"host": {"type": "BAREMETAL"}}, segment_id=segment, host_id="compute1")
    [aggregate] = api.nova.aggregate_list
    assert aggregate.metadata["vmha:reserved_hosts"] == "compute1,compute2"
    renamed = api.call(api.hosts.update, "PUT", {"host": {"name": "compute3", "on_maintenance": True}},
                       segment_id=segment, host_id=host_uuid("compute1")).json["host"]
    assert (renamed["id"], renamed["type"], renamed["on_maintenance"]) == (host_uuid("compute3"), "BAREMETAL", True)
    assert aggregate.hosts == ["compute2", "compute3"] and aggregate.metadata["vmha:reserved_hosts"] == \
        "compute3,compute2"
    assert "vmha:type:compute1" not in aggregate.metadata
    api.call(api.hosts.delete, "DELETE", segment_id=segment, host_id="compute3")
    assert aggregate.hosts == ["compute2"] and aggregate.metadata["vmha:maintenance_hosts"] == ""
    assert "vmha:type:compute3" not in aggregate.metadata and "vmha:control_attributes:compute3" not in \
        aggregate.metadata


def test_clearing_maintenance_releases_a_service_vmha_disabled_but_leaves_it_disabled(api: Api) -> None:
    segment = api.segment()["id"]
    api.host(segment, "compute1")
    service = api.nova.service_by_host["compute1"]
    service.status, service.disabled_reason = "disabled", "host down (vmha notification " + "0" * 36 + ")"
    assert api.call(api.hosts.show, segment_id=segment, host_id="compute1").json["host"]["on_maintenance"] is True
    host = api.call(api.hosts.update, "PUT", {"host": {"on_maintenance": "false"}}, segment_id=segment,
                    host_id="compute1").json["host"]
    assert host["on_maintenance"] is False
    assert (service.status, service.disabled_reason) == ("disabled", "host down")


def test_a_heat_segment_is_the_stacks(api: Api) -> None:
    api.nova.add_aggregate("heat-made", ["compute1"], {"vmha:recovery_method": "auto", "vmha:stack": "vmha-prod"})
    for handler, method, body, params in (
            (api.segments.update, "PUT", {"segment": {"description": "x"}}, {}),
            (api.segments.delete, "DELETE", None, {}),
            (api.hosts.create, "POST", {"host": {"name": "compute2", "type": "A", "control_attributes": ""}}, {}),
            (api.hosts.update, "PUT", {"host": {"reserved": True}}, {"host_id": "compute1"}),
            (api.hosts.delete, "DELETE", None, {"host_id": "compute1"})):
        error = api.refused(handler, method, body, segment_id="heat-made", **params)
        assert error.status == 409 and "Heat stack vmha-prod" in error.message
    assert api.nova.called("set_aggregate_metadata") == [] and api.nova.aggregate_list[0].hosts == ["compute1"]


def test_a_segment_under_recovery_is_not_changed(api: Api, journal: Journal) -> None:
    segment = api.segment()["id"]
    api.host(segment, "compute1")
    journal.record_notification(new_notification("compute1"), dedup_window=DEDUP_WINDOW,
                                terminal_within=TERMINAL_WITHIN)
    for handler, method, body, params in (
            (api.segments.update, "PUT", {"segment": {"enabled": False}}, {}),
            (api.segments.delete, "DELETE", None, {}),
            (api.hosts.update, "PUT", {"host": {"on_maintenance": False}}, {"host_id": "compute1"}),
            (api.hosts.delete, "DELETE", None, {"host_id": "compute1"})):
        error = api.refused(handler, method, body, segment_id=segment, **params)
        assert error.status == 409 and "in use to process notifications" in error.message
    assert api.host(segment, "compute2").status_code == 201


@pytest.mark.parametrize(("method", "fails", "setup"), [
    ("create_segment", "set_aggregate_metadata", False),
    ("add_host", "set_aggregate_metadata", True),
    ("rename_host", "remove_host_from_aggregate", True),
    ("delete_segment", "delete_aggregate", True),
    ("delete_host", "remove_host_from_aggregate", True),
])
def test_nothing_is_half_written_when_nova_fails_midway(api: Api, method: str, fails: str, setup: bool) -> None:
    segment = api.segment("rack-1", recovery_method="reserved_host")["id"] if setup else None
    if segment is not None:
        api.host(segment, "compute1", reserved=True)
    before = [(a.name, list(a.hosts), dict(a.metadata)) for a in api.nova.aggregate_list]
    api.nova.fail_next(fails, http_error(exceptions.HttpException, 500, "database gone"))
    calls: Mapping[str, tuple[Any, str, Any, dict[str, str]]] = {
        "create_segment": (api.segments.create, "POST", {"segment": {
            "name": "rack-2", "recovery_method": "auto", "service_type": "COMPUTE"}}, {}),
        "add_host": (api.hosts.create, "POST", {"host": {
            "name": "compute2", "type": "COMPUTE", "control_attributes": ""}}, {"segment_id": str(segment)}),
        "rename_host": (api.hosts.update, "PUT", {"host": {"name": "compute2"}},
                        {"segment_id": str(segment), "host_id": "compute1"}),
        "delete_segment": (api.segments.delete, "DELETE", None, {"segment_id": str(segment)}),
        "delete_host": (api.hosts.delete, "DELETE", None, {"segment_id": str(segment), "host_id": "compute1"}),
    }
    handler, verb, body, params = calls[method]
    error = api.refused(handler, verb, body, **params)
    assert error.status == 502 and "database gone" in error.message and "nothing was changed" in error.message
    assert [(a.name, list(a.hosts), dict(a.metadata)) for a in api.nova.aggregate_list] == before


def test_lists_filter_sort_and_page_as_masakari(api: Api) -> None:
    for name, method in (("b", "auto"), ("a", "rh_priority"), ("c", "auto")):
        api.segment(name, recovery_method=method)
    def names(query: str) -> list[str]:
        return [segment["name"] for segment in api.call(api.segments.index, query=query).json["segments"]]

    assert names("sort_key=name&sort_dir=asc") == ["a", "b", "c"]
    assert names("sort_key=recovery_method&sort_key=name&sort_dir=asc&sort_dir=desc") == ["c", "b", "a"]
    assert names("recovery_method=auto&sort_key=name&sort_dir=asc&limit=1") == ["b"]
    marker = found_segments(api.cloud)[0].id  # "b"
    assert names(f"sort_key=name&sort_dir=asc&marker={marker}") == ["c"]
    assert names("enabled=false") == [] and len(names("enabled=1")) == 3
    segment = found_segments(api.cloud)[0].id
    api.host(segment, "compute1", reserved=True)
    api.host(segment, "compute2", on_maintenance="yes")
    hosts = api.call(api.hosts.index, query="reserved=false", segment_id=segment).json["hosts"]
    assert [host["name"] for host in hosts] == ["compute2"]
    assert api.refused(api.hosts.index, query="on_maintenance=perhaps", segment_id=segment).status == 400


@pytest.mark.parametrize(("query", "words"), [
    ("sort_key=colour", "Sort key supplied was not valid"),
    ("sort_dir=up", "Unknown sort direction"),
    ("sort_key=name&sort_dir=asc&sort_dir=desc", "Sort direction size exceeds sort key size"),
    ("limit=ten", "limit must be an integer"),
    ("limit=-1", "limit must be >= 0"),
    ("marker=nobody", "Marker nobody could not be found"),
    ("enabled=sometimes", "Invalid value for enabled"),
])
def test_bad_list_parameters_are_400(api: Api, query: str, words: str) -> None:
    error = api.refused(api.segments.index, query=query)
    assert error.status == 400 and words in error.message


def test_paging_follows_the_order_and_the_marker_may_be_filtered_out() -> None:
    views = [{"id": str(n), "name": name, "created_at": f"2030-01-0{n}"} for n, name in enumerate("xyzw", 1)]
    request = webob.Request.blank("/?sort_key=name&limit=2")
    chosen = listing(request.GET, frozenset({"name"}))
    assert chosen == Listing(2, None, (("name", True), ("created_at", True), ("id", True)))
    assert [view["name"] for view in arrange(views, chosen)] == ["z", "y"]
    after_y = Listing(10, "2", chosen.order)
    assert [view["name"] for view in arrange(views[2:], after_y, views)] == ["w"]
    assert [view["name"] for view in arrange(views, after_y)] == ["x", "w"]
    assert arrange(views, Listing(0, None, chosen.order)) == []
    assert flag(webob.Request.blank("/?reserved=T").GET, "reserved") is True


def test_vmoves_of_a_host_recovery_only_from_microversion_1_3(api: Api, journal: Journal) -> None:
    host, vm = (new_notification("compute1", segment="rack-1"),
                new_notification("compute1", notification_type="VM", payload={
                    "event": "LIFECYCLE", "instance_uuid": "d0c73c62-76d0-44be-b8b8-3b187bc4e129",
                    "vir_domain_event": "STOPPED_FAILED"}))
    for notification in (host, vm):
        journal.record_notification(notification, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    servers = ["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"]
    journal.record_instance_progress(host.id, servers[0], InstanceStatus.SUCCEEDED, dest_host="compute2")
    journal.record_instance_progress(host.id, servers[1], InstanceStatus.FAILED, message="no valid host")
    vmoves = VMoves(journal)
    listed = api.call(vmoves.index, query="sort_key=status&sort_dir=asc", notification_id=host.id).json["vmoves"]
    assert [(vmove["id"], vmove["status"]) for vmove in listed] == [(servers[1], "failed"), (servers[0], "succeeded")]
    only = api.call(vmoves.index, query="status=succeeded", notification_id=host.id).json["vmoves"]
    assert [vmove["dest_host"] for vmove in only] == ["compute2"]
    shown = api.call(vmoves.show, notification_id=host.id, vmove_id=servers[1]).json["vmove"]
    assert (shown["message"], shown["type"]) == ("no valid host", "evacuation")
    assert api.refused(vmoves.show, notification_id=host.id, vmove_id=servers[1], version="1.2").status == 404
    assert api.refused(vmoves.show, notification_id=host.id, vmove_id="nope").status == 404
    assert api.refused(vmoves.index, notification_id=vm.id).status == 400
