"""The drill, start to end (see the package docstring): checks, canaries, power-off, the recovery followed
through the gateway's API, power-on, return to service, verdict; the canaries are deleted whatever happens."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import openstack

from vmha.console import Progress
from vmha.demo import servers
from vmha.demo.hosts import DemoError, compute_service, power_on
from vmha.demo.run import BOOT_MICROVERSION, quietly, terminated_as_interrupt
from vmha.demo.servers import Placement
from vmha.drill.checks import DrillError, Target, preflight
from vmha.drill.gateway_api import GatewayApi
from vmha.drill.options import DrillOptions
from vmha.drill.verdict import Canary, Verdict, show
from vmha.fencing import BmcError, power_driver

POLL_SECONDS = 1.0
SINCE_MARGIN = timedelta(seconds=5)
"""The drill's recovery is looked up among failures generated from this long before the power-off."""
ENDED = frozenset({"finished", "failed", "ignored"})
_ATTEMPT = re.compile(r"attempt \d+ failed: ")


def run(options: DrillOptions, report: Progress | None = None) -> int:
    """Run the drill; 0 when it passed (see the package docstring), else 1."""
    try:
        conn = openstack.connect(cloud=options.cloud or None, compute_api_version=BOOT_MICROVERSION)
        api_conn = (openstack.connect(cloud=options.cloud or None, region_name=options.gateway_region)
                    if options.gateway_region else conn)
    except openstack.exceptions.ConfigException as error:
        raise DrillError(f"OpenStack credentials: {error}") from error
    with terminated_as_interrupt():
        return Drill(conn, GatewayApi(api_conn), options, report or Progress()).run()


class Drill:
    """One drill; its canaries are named ``drill-<host>-<6 hex>-<n>``."""

    def __init__(self, conn: Any, api: GatewayApi, options: DrillOptions, report: Progress) -> None:
        self.conn, self.api, self.options, self.report = conn, api, options, report
        self.name = f"drill-{options.host}-{uuid.uuid4().hex[:6]}"
        self.back = False

    def run(self) -> int:
        options, report = self.options, self.report
        target = preflight(self.conn, options, self.api.recoveries_under_way)
        objective = target.segment.rto_seconds
        report(f"[drill]      {target.host} in segment {target.segment.name} (fencing {target.segment.fencing}, "
               f"objective {'none' if objective is None else f'{objective} s'}); its BMC: "
               f"{target.bmc.protocol.value} {target.bmc.address}")
        if target.existing:
            report(f"[drill]      --include-existing: {len(target.existing)} other servers fail over too: "
                   f"{', '.join(target.existing)}")
        with contextlib.ExitStack() as cleanup:
            canaries = self._boot(cleanup)
            off_at = self._power_off(target, cleanup)
            notification = self._follow(target, canaries, off_at)
            returned = self._return(target) if self._ended(target, notification) else None
            verdict = self._verdict(target, canaries, off_at, notification, returned)
            show(verdict, report.stream)
            return 0 if verdict.passed else 1
        raise AssertionError("unreachable")  # ExitStack never swallows: mypy cannot tell

    def _boot(self, cleanup: contextlib.ExitStack) -> list[Placement]:
        options = self.options
        plan = [(f"{self.name}-{n}", options.host) for n in range(1, options.servers + 1)]
        self.report(f"[nova]       booting {len(plan)} HA_Enabled canaries on {options.host}")
        try:
            placed = servers.boot(self.conn, plan, options.image, options.flavor, 180.0)
        except (openstack.exceptions.ResourceFailure, openstack.exceptions.ResourceTimeout) as error:
            raise DrillError(f"booting the canaries: {error}") from error
        ids = [server.id for server in placed]
        cleanup.callback(quietly, self.report, "deleting the canaries", lambda: servers.delete(self.conn, ids, 120))
        for server in placed:
            self.report(f"[nova]       {server.name}: {server.status} on {server.host}")
        return placed

    def _power_off(self, target: Target, cleanup: contextlib.ExitStack) -> datetime:
        """Cut the host's power through its BMC; the clock starts."""
        cleanup.callback(self._left_out, target)
        off_at = datetime.now(UTC)
        try:
            power_driver(target.bmc).power_off()
        except BmcError as error:
            raise DrillError(f"powering {target.host} off: {error}") from error
        self.report.start = time.monotonic()
        self.report(f"[failure]    {target.host} powered off through its BMC, as a power loss; the clock starts")
        return off_at

    def _follow(self, target: Target, canaries: list[Placement], off_at: datetime) -> dict[str, Any] | None:
        """Report detection, the recovery's steps and the canaries' moves until the recovery ended and the
        canaries settled, or the recovery timeout; the notification as last read (None: never reported)."""
        deadline = time.monotonic() + self.options.recovery_timeout_seconds
        view: dict[str, Any] | None = None
        said: set[tuple[str, str]] = set()
        now = {server.id: server for server in canaries}
        while True:
            if view is None:
                found = self.api.host_failures(target.host, off_at - SINCE_MARGIN)
                if found:
                    view = found[0]
                    self.report(f"[detection]  notification {view['notification_uuid']} ({view['type']}, "
                                f"generated {view['generated_time']} UTC): {view['payload']}")
            if view is not None:
                view = self._progress(view, said)
            for seen in servers.look(self.conn, list(now.values())):
                last = now[seen.id]
                if (seen.host, seen.status, seen.task) != (last.host, last.status, last.task):
                    self.report(f"[nova]       {seen.name}: {seen.status}{f' ({seen.task})' if seen.task else ''} "
                                f"on {seen.host}")
                now[seen.id] = seen
            if view is not None and view["status"] in ENDED and all(seen.task is None for seen in now.values()):
                return view
            if time.monotonic() > deadline:
                self.report(f"[recovery]   gave up waiting after {self.options.recovery_timeout_seconds:.0f} s")
                return view
            time.sleep(POLL_SECONDS)

    def _progress(self, view: dict[str, Any], said: set[tuple[str, str]]) -> dict[str, Any]:
        """Read the notification again; report its new status and each new step message once."""
        latest = self.api.notification(view["notification_uuid"])
        if latest["status"] != view["status"] or not said:
            message = f": {latest['message']}" if latest.get("message") else ""
            self.report(f"[recovery]   notification {latest['status']}{message}")
        for step in latest.get("recovery_workflow_details") or ():
            for event in step["progress_details"]:
                message = _ATTEMPT.sub("", event["message"])  # a step polling Nova: each reason once
                key = (step["name"], message)
                if key not in said and not message.endswith(" started"):
                    said.add(key)
                    self.report(f"[recovery]   {step['name']}: {message}")
        said.add(("", ""))
        return latest

    def _ended(self, target: Target, view: dict[str, Any] | None) -> bool:
        """Whether the recovery ended; if not, the host stays off: powered on now, it could start a server
        still being evacuated, and that server would run twice."""
        if view is not None and view["status"] in ENDED:
            return True
        self.report(f"[return]     the recovery has not ended: {target.host} stays powered off")
        return False

    def _return(self, target: Target) -> float | None:
        """Power the host on, wait for its nova-compute, return it through the gateway; seconds from the
        power-on until it was back in service, None if it did not come back in time."""
        host, timeout = target.host, self.options.return_timeout_seconds
        before = compute_service(self.conn, host).updated_at
        try:
            self.report(f"[return]     {power_on(host, self.options.fencing_file)}")
        except (DemoError, BmcError) as error:
            self.report(f"[return]     powering {host} on failed: {error}")
            return None
        on_at = time.monotonic()
        deadline = on_at + timeout
        while not _reported_since(compute_service(self.conn, host), before):
            if time.monotonic() > deadline:
                self.report(f"[return]     {host}'s nova-compute has not reported within {timeout:.0f} s of the "
                            "power-on: its BMC powered it on but did not bring nova-compute back; start it, then "
                            f"openstack vmha host return {host}")
                return None
            time.sleep(POLL_SECONDS)
        self.report(f"[return]     {host}'s nova-compute reports again")
        refused, accepted = "", False
        while not _in_service(compute_service(self.conn, host)):
            if time.monotonic() > deadline:
                self.report(f"[return]     {host} not back in service within {timeout:.0f} s of the power-on"
                            f"{': ' + refused if refused else ''}")
                return None
            if not accepted:
                try:
                    done = self.api.return_host(host)
                except DrillError as error:
                    refused = str(error)  # not back yet for the gateway (or returned by its own look): again
                else:
                    accepted = True
                    self.report(f"[return]     the gateway returns {host} (notification {done['notification_id']})")
            time.sleep(POLL_SECONDS)
        self.back = True
        took = time.monotonic() - on_at
        self.report(f"[return]     {host} back in service {took:.1f} s after the power-on")
        return took

    def _verdict(self, target: Target, canaries: list[Placement], off_at: datetime,
                 view: dict[str, Any] | None, returned: float | None) -> Verdict:
        phases: dict[str, float | None] = {}
        detected = None
        if view is not None:
            generated = datetime.fromisoformat(view["generated_time"]).replace(tzinfo=UTC)
            detected = max(0.0, (generated - off_at).total_seconds())
            line = self.api.timeline(target.segment.name, off_at - SINCE_MARGIN, view["notification_uuid"])
            phases = dict(line["phases"]) if line else {}
        moved = []
        for server in canaries:
            now = servers.place(self.conn.compute.get_server(server.id))
            evacuations = Counter(action.action for action in self.conn.compute.server_actions(server.id))["evacuate"]
            moved.append(Canary(server.name, server.host, now.host, now.status, evacuations))
        return Verdict(detected, phases, returned, target.segment.rto_seconds, tuple(moved))

    def _left_out(self, target: Target) -> None:
        """On the way out: say what an operator must still do when the host is not back in service."""
        if self.back:
            return
        self.report(f"[cleanup]    {target.host} is not back in service: once its recovery ended, power it on "
                    f"through its BMC and run openstack vmha host return {target.host}")


def _reported_since(service: Any, before: Any) -> bool:
    """Whether nova-compute wrote its record since ``before`` (a forced-down service stays "down" meanwhile)."""
    return bool(service.updated_at != before)


def _in_service(service: Any) -> bool:
    return bool(service.state == "up" and service.status == "enabled" and not service.is_forced_down)
