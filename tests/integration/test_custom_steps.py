"""Issue 21 on the local cloud: a real `vmha gateway` runs a custom flow whose own steps are the shipped examples,
the entry point ``note_instance`` (examples/site-steps, installed by tools/install) and a webhook served on
loopback by examples/webhook_receiver.py; and a webhook that keeps failing fails its recovery with its own text."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.webhook_support import example_receiver, serving
from vmha.api.progress import workflow_details
from vmha.contracts import HostEvent, HostPayload, HostStatus, VirDomainEvent, VmEvent, VmPayload
from vmha.journal import NotificationStatus, StepStatus
from vmha.signing import signed_text

from .recovery_support import HA, Recoveries, results, segment

SECRET = "cs-integration-secret"
COMPUTE = ("compute2", "compute3", "compute1", "compute4")
AUTO = {"vmha:recovery_method": "auto"}
_LISTENING = re.compile(r'"message": "http endpoint listening", "url": "([^"]+)"')


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    with example_receiver(monkeypatch, SECRET) as served:
        yield served


def recoveries_with(tmp_path: Path, conn: Any, layout: Layout, flows: dict[str, Any]) -> Recoveries:
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps(flows))
    return Recoveries(tmp_path, conn, layout, custom_flows_file=str(flows_file),
                      custom_steps={"webhook_secret": SECRET}, host_failure={"evacuate_all_instances": False})


def free_hosts(conn: Any, count: int = 2) -> tuple[str, ...]:
    """Fake compute hosts in service and in no segment, in COMPUTE's order, the first one running no server (waiting
    up to 5 minutes for ``count``): on a cloud shared with other test runs, hosts this test may fail and evacuate to
    without touching theirs."""
    found: tuple[str, ...] = ()

    def enough() -> bool:
        nonlocal found
        serving = {s.host for s in conn.compute.services(binary="nova-compute")
                   if (s.state, s.status) == ("up", "enabled")}
        serving -= {host for aggregate in conn.compute.aggregates() for host in aggregate.hosts or ()}
        running = {server.compute_host for server in conn.compute.servers(all_projects=True)}
        empty = [host for host in COMPUTE if host in serving - running]
        found = tuple(empty[:1] + [host for host in COMPUTE if host in serving and host not in empty[:1]])
        return bool(empty) and len(found) >= count

    assert wait_until(enough, 300, 2.0), f"fewer than {count} free compute hosts: {found}"
    return found


@contextlib.contextmanager
def booted(conn: Any, host: str, count: int) -> Iterator[list[Any]]:
    """``count`` HA servers on ``host``, deleted after (those a failed boot left behind too)."""
    name = f"cs-{uuid.uuid4().hex[:6]}"
    try:
        yield helpers.boot_servers(conn, host, count, name, metadata=HA)
    finally:
        helpers.delete_servers(conn, list(conn.compute.servers(all_projects=True, name=f"^{name}-")))


def scraped(recoveries: Recoveries, process: Any, metric: str) -> list[str]:
    found = _LISTENING.search(recoveries.log_of(process))
    assert found is not None
    with urllib.request.urlopen(f"{found.group(1)}/metrics", timeout=10) as answer:
        return [line for line in answer.read().decode().splitlines() if line.startswith(metric)]


def test_a_host_recovery_runs_the_entry_point_then_the_webhook_once_per_instance(
        tmp_path: Path, admin_conn: Any, cloud_layout: Layout, receiver: tuple[str, Any]) -> None:
    url, module = receiver
    flows = {"steps": {"cs_note": {"entry_point": "note_instance", "per_instance": True},
                       "cs_hook": {"webhook": url, "per_instance": True}},
             "COMPUTE_HOST": {"auto": {"pre": ["guard_mass_failure", "fence_host", "disable_compute_service"],
                                       "main": ["plan_evacuation"],
                                       "post": ["evacuate_instance", "confirm_instance_evacuated", "cs_note",
                                                "cs_hook", "finish_host_recovery"]}}}
    recoveries = recoveries_with(tmp_path, admin_conn, cloud_layout, flows)
    notes = tmp_path / "notes.log"
    conn = admin_conn
    hosts = free_hosts(conn)
    failed_host = hosts[0]
    try:
        with segment(conn, hosts, AUTO), booted(conn, failed_host, 2) as servers:
            try:
                gateway = recoveries.start(VMHA_SITE_STEPS_LOG=str(notes))
                recoveries.wait_ready(gateway)
                helpers.kill_host(cloud_layout, failed_host)
                nid = recoveries.notify(failed_host, HostPayload(HostEvent.STOPPED, HostStatus.NORMAL))
                detail = recoveries.wait_ended(nid, timeout=180)
                moved = {server.id: conn.compute.get_server(server.id).compute_host for server in servers}
                counted = scraped(recoveries, gateway, "vmha_step_duration_seconds_count")
            finally:
                helpers.restore_host(cloud_layout, conn, failed_host)
    finally:
        recoveries.close()
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    runs = results(detail)
    for server in servers:
        key = f"{nid}/cs_note/{server.id}"
        assert runs[("cs_note", server.id)] == (StepStatus.SUCCEEDED, {"noted_host": moved[server.id]})
        assert runs[("cs_hook", server.id)][0] is StepStatus.SUCCEEDED
        assert moved[server.id] != failed_host
        note, hook = (next(run for run in detail.steps if (run.key.step_id, run.key.instance_uuid) == (step, server.id))
                      for step in ("cs_note", "cs_hook"))
        assert note.finished_at is not None and note.finished_at <= hook.started_at  # in order, per instance
        assert notes.read_text().splitlines().count(f"{key} {moved[server.id]}") == 1
    assert sorted(module.answers) == sorted(f"{nid}/cs_hook/{server.id}" for server in servers)
    starts = Counter((event.step_id, event.instance_uuid) for event in detail.events
                     if event.step_id.startswith("cs_") and event.message.endswith(" started"))
    assert starts == {(step, server.id): 1 for step in ("cs_note", "cs_hook") for server in servers}  # once each
    assert len(notes.read_text().splitlines()) == 2
    details = {item["name"]: item for item in workflow_details(detail)}
    assert details["cs_note"]["state"] == details["cs_hook"]["state"] == "SUCCESS"
    assert any('step="cs_hook"' in line and line.endswith(" 2.0") for line in counted), counted
    assert any('step="cs_note"' in line and line.endswith(" 2.0") for line in counted), counted


class Unavailable(BaseHTTPRequestHandler):
    """A ticketing webhook always down for maintenance, and a pager that answers (signed); counts the calls."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Unavailable.calls.append(call["step"])
        status, body = (503, b"cs-ticketing is down for maintenance") if call["step"] == "cs_ticket" else (200, b"")
        stamp = str(int(time.time()))
        self.send_response(status)
        self.send_header("Retry-After", "1")
        self.send_header("X-Vmha-Timestamp", stamp)
        self.send_header("X-Vmha-Signature", signed_text(SECRET, stamp, call["idempotency_key"], body.decode()))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_a_failing_webhook_is_retried_then_fails_the_recovery_with_its_own_text(
        tmp_path: Path, admin_conn: Any, cloud_layout: Layout) -> None:
    conn = admin_conn
    with serving(Unavailable) as url:
        flows = {"steps": {"cs_ticket": {"webhook": url, "max_attempts": 3},
                           "cs_page": {"webhook": url.replace("/hook", "/page")}},
                 "VM": {"pre": ["stop_instance"], "main": ["start_instance"],
                        "post": ["confirm_instance_active", "cs_ticket"], "on_failure": ["cs_page"]}}
        recoveries = recoveries_with(tmp_path, conn, cloud_layout, flows)
        try:
            hosts = free_hosts(conn, 1)
            with segment(conn, hosts[:1], AUTO), booted(conn, hosts[0], 1) as [server]:
                recoveries.wait_ready(recoveries.start())
                failed = VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED, uuid.UUID(server.id))
                nid = recoveries.notify(hosts[0], failed)
                recoveries.wait_ended(nid)
                # the failure hook runs just after the call that failed the recovery recorded it failed
                assert wait_until(functools.partial(_paged, recoveries, nid), 30, 0.1)
                detail = recoveries.detail(nid)
        finally:
            recoveries.close()
    assert detail.notification.status is NotificationStatus.FAILED
    reason = detail.notification.status_reason or ""
    assert reason.startswith("gave up after 3 attempts: webhook step cs_ticket"), reason
    assert reason.endswith("answered 503: cs-ticketing is down for maintenance"), reason
    assert Unavailable.calls == ["cs_ticket"] * 3 + ["cs_page"]
    assert results(detail)[("cs_page", "")][0] is StepStatus.SUCCEEDED
    assert "on_failure: succeeded" in [event.message for event in detail.events if event.step_id == "cs_page"]


def _paged(recoveries: Recoveries, nid: str) -> bool:
    return any(run.key.step_id == "cs_page" and run.finished_at is not None for run in recoveries.detail(nid).steps)
