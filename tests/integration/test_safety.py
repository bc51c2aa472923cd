"""Never run a server twice, on the real cloud: without a confirmed fence nothing is evacuated, whatever the
segment's metadata says by default, whatever path a step comes by, and a report the host contradicts is not
acted on. Each test puts back what it changed (processes resumed, BMC on, host restored, servers deleted)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.fencing_support import HA_KEY, Fenced, fenced
from tests.functions_driver import Driver
from vmha.cloud.nova import nova_time
from vmha.contracts import ClusterStatus, HostEvent, HostPayload, HostStatus, Notification, StepMessage
from vmha.fencing import PowerState, power_driver
from vmha.functions import STEPS, intake
from vmha.functions.registry import HOST_AUTO
from vmha.journal import InstanceStatus, NewNotification, NotificationStatus, utc_now

from .api_support import Running, api_settings, serving
from .cli_support import gateway_in_catalog
from .runtime_support import Place

__all__ = ["fenced"]  # the fixture
FLOW = HOST_AUTO.steps


def unknown_report(host: str) -> Notification:
    """What the host monitor reports when Nova lost the host and its BMC does not say the power is off."""
    return Notification(uuid.uuid4(), "integration-test", host, utc_now(),
                        HostPayload(HostEvent.STOPPED, HostStatus.UNKNOWN, ClusterStatus.OFFLINE))


@contextlib.contextmanager
def ha_servers(conn: Any, host: str, count: int = 2) -> Iterator[list[Any]]:
    prefix = f"vmha-safety-{uuid.uuid4().hex[:6]}"
    try:
        yield helpers.boot_servers(conn, host, count, prefix, metadata={HA_KEY: "true"})
    finally:
        helpers.delete_servers(conn, list(conn.compute.servers(all_projects=True, name=f"^{prefix}-")))


def wrong_password(fenced: Fenced, host: str) -> Path:
    access = fenced.bmc(host)
    entry = {"protocol": access.protocol.value, "address": access.address, "username": access.username,
             "password": "not-the-password", "port": access.port, "timeout_seconds": 2}
    path = fenced.tmp_path / "fencing.yaml"
    path.write_text(yaml.safe_dump({"hosts": {host: entry}}))
    return path


def never_evacuated(conn: Any, servers: list[Any], host: str) -> None:
    for server in servers:
        assert conn.compute.get_server(server.id).compute_host == host
        assert "evacuate" not in {action.action for action in conn.compute.server_actions(server)}


@pytest.mark.parametrize("metadata", [{"vmha:fencing": "required"}, {"vmha:fencing": None}],
                         ids=["required", "default"])
def test_a_partitioned_host_whose_bmc_refuses_the_password_is_not_evacuated(
        fenced: Fenced, admin_conn: Any, metadata: dict[str, str | None]) -> None:
    host, layout = "compute2", fenced.layout
    admin_conn.compute.set_aggregate_metadata(admin_conn.compute.find_aggregate(fenced.segment), metadata)
    with ha_servers(admin_conn, host) as servers:
        helpers.cut_off_host(layout, host)  # still running its servers, silent to Nova
        try:
            run, detail = fenced.recover(unknown_report(host), wrong_password(fenced, host))
        finally:
            helpers.reconnect_host(layout, host)
        assert run.status is NotificationStatus.FAILED, run.outcomes
        reason = str(detail.notification.status_reason)
        assert "fence not confirmed" in reason and "not-the-password" not in reason
        assert [step for step, _, _ in run.outcomes][-1] == "fence_host"
        never_evacuated(fenced.conn, servers, host)
        assert power_driver(fenced.bmc(host)).power_state() is PowerState.ON
        assert not helpers.compute_service(fenced.conn, host).is_forced_down


def test_a_late_report_of_a_host_that_came_back_is_ignored(fenced: Fenced, admin_conn: Any) -> None:
    host, layout = "compute3", fenced.layout
    with ha_servers(admin_conn, host, 1) as servers:
        helpers.kill_host(layout, host)
        report = unknown_report(host)  # spooled, or stuck in a backlog, while the host came back
        helpers.start_host(layout, host)
        assert wait_until(lambda: (nova_time(helpers.compute_service(admin_conn, host).updated_at)
                                   or report.generated_time) > report.generated_time, 60, 0.5)
        run, detail = fenced.recover(report, layout.fencing_yaml)
        assert run.status is NotificationStatus.IGNORED and run.outcomes == []
        assert "host alive at recovery time" in str(detail.notification.status_reason)
        assert power_driver(fenced.bmc(host)).power_state() is PowerState.ON
        never_evacuated(fenced.conn, servers, host)


@dataclasses.dataclass
class Unproven:
    """A running recovery of a dead host, planned but not fenced, in a live gateway's journal."""

    api: Running
    place: Place
    host: str
    server: Any
    notification: Notification

    def message(self, flow: tuple[str, ...] = FLOW) -> dict[str, Any]:
        return StepMessage(self.notification.id, "evacuate_instance", 1, flow, flow.index("evacuate_instance"),
                           datetime.now(UTC) + timedelta(hours=1), uuid.UUID(self.server.id)).to_dict()


@pytest.fixture
def unproven(fenced: Fenced, admin_conn: Any, tmp_path: Path) -> Iterator[Unproven]:
    host, layout, place = "compute4", fenced.layout, Place(tmp_path, admin_conn)
    settings = api_settings(place)
    settings = dataclasses.replace(settings, fencing_file=str(layout.fencing_yaml), ha_enabled_metadata_key=HA_KEY,
                                   host_failure=dataclasses.replace(settings.host_failure,
                                                                    evacuate_all_instances=False))
    with contextlib.ExitStack() as stack:
        stack.callback(place.delete)
        [server] = stack.enter_context(ha_servers(admin_conn, host, 1))
        helpers.kill_host(layout, host)
        stack.callback(helpers.restore_host, layout, fenced.conn, host)
        service = helpers.compute_service(fenced.conn, host)
        # forced down: Nova itself would now evacuate its servers, only vmha's check stands in the way
        fenced.conn.compute.update_service_forced_down(service, host, "nova-compute", forced=True)
        api = stack.enter_context(serving(layout, settings, STEPS, intake))
        journal, report = api.gateway.services.journal, unknown_report(host)
        journal.record_notification(NewNotification.of(report, fenced.segment, "auto"), dedup_window=timedelta(0),
                                    terminal_within=timedelta(hours=1))
        journal.set_flow(str(report.id), FLOW)
        journal.set_status(str(report.id), NotificationStatus.RUNNING)
        driver = Driver(fenced.conn, journal, settings, utc_now, wait=time.sleep)
        planned = driver.step(report, FLOW, FLOW.index("plan_evacuation"), None)
        assert [str(uuid_) for uuid_ in getattr(planned, "fan_out", ())] == [server.id], planned
        yield Unproven(api, place, host, server, report)
        never_evacuated(fenced.conn, [server], host)


def test_no_direct_path_evacuates_without_a_fence(unproven: Unproven, cloud_layout: Layout, admin_conn: Any,
                                                  tmp_path: Path) -> None:
    api, words = unproven.api, f"no proof that {unproven.host} is dead"
    execution = api.call("POST", "/v1/functions/evacuate_instance/executions", json={"input": unproven.message()})
    assert execution.status_code == 201, execution.text
    output = execution.json()["result"]["output"]
    assert output["outcome"] == "fail" and words in output["reason"]
    invoked = api.lambda_client().invoke(FunctionName="evacuate_instance", Payload=json.dumps(unproven.message()))
    answer = json.loads(invoked["Payload"].read())
    assert answer["outcome"] == "fail" and words in answer["reason"]
    with gateway_in_catalog(cloud_layout, admin_conn, api.url, tmp_path) as (_admin, osc):
        shown = osc.json("function", "invoke", "evacuate_instance", json.dumps(unproven.message()))
    assert shown["Output"]["outcome"] == "fail" and words in shown["Output"]["reason"], shown


def test_no_forged_step_message_evacuates_without_a_fence(unproven: Unproven, admin_conn: Any) -> None:
    services, nid = unproven.api.gateway.services, str(unproven.notification.id)
    queues = services.settings.queues
    without_fence = unproven.message(("plan_evacuation", "evacuate_instance", "confirm_instance_evacuated"))
    services.queues.post(queues.steps, [without_fence], ttl=600)
    letters = helpers.zaqar(admin_conn).queue(queues.dead_letters, auto_create=False)

    def dead_lettered() -> bool:
        return any("is not the flow recorded" in json.dumps(letter.body) for letter in letters.messages(echo=True))

    assert wait_until(dead_lettered, 60, 0.5)
    services.queues.post(queues.steps, [unproven.message()], ttl=600)  # the right flow: the step itself refuses

    def refused() -> bool:
        detail = services.journal.get_notification(nid)
        return detail is not None and any(item.status is InstanceStatus.FAILED for item in detail.instances)

    assert wait_until(refused, 60, 0.5)
    detail = services.journal.get_notification(nid)
    assert detail is not None
    [run] = [step for step in detail.steps if step.key.step_id == "evacuate_instance"]
    assert f"no proof that {unproven.host} is dead" in str(run.error)
