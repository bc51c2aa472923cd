"""The demo, start to end (see the package docstring); everything it makes is removed afterwards."""

from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import openstack

from vmha.console import Progress, table
from vmha.demo import in_process, servers
from vmha.demo.detection import Detection
from vmha.demo.host_monitors import INTERVAL_SECONDS, MISSES, HostMonitors, MonitorSetup
from vmha.demo.hosts import (
    DemoError,
    compute_service,
    finish,
    free_hosts,
    image_hosts,
    launch,
    power_on,
    restore,
    taken_hosts,
)
from vmha.demo.options import DemoOptions
from vmha.demo.servers import Placement
from vmha.demo.watch import Watch
from vmha.deploy import Deployment, StackRequest, delete, deploy

BOOT_MICROVERSION = "2.74"
"""Booting on a named host (``host``) needs 2.74; recovery itself runs at vmha.context.COMPUTE_MICROVERSION."""
QUIET_SECONDS = 10.0
"""While waiting, a line saying so after this long without one (CI logs show the demo is alive)."""


def run(options: DemoOptions, report: Progress | None = None) -> int:
    """Run the demo; 0 when every server of the killed host ended ACTIVE on another host, else 1."""
    try:
        conn = openstack.connect(cloud=options.cloud or None, compute_api_version=BOOT_MICROVERSION)
    except openstack.exceptions.ConfigException as error:
        raise DemoError(f"OpenStack credentials: {error}") from error
    with terminated_as_interrupt():
        return Demo(conn, options, report or Progress()).run()


class Demo:
    """One demo run on ``conn``; every resource it makes has the unique prefix ``name``."""

    def __init__(self, conn: Any, options: DemoOptions, report: Progress) -> None:
        self.conn, self.options, self.report = conn, options, report
        self.name = f"vmha-demo-{uuid.uuid4().hex[:6]}"
        self.webhook_secret = secrets.token_hex(32)  # this run's gateway only: signs the stack's webhook URLs

    def run(self) -> int:
        conn, options, report = self.conn, self.options, self.report
        hosts = usable_hosts(conn, options.host, options.image)
        with tempfile.TemporaryDirectory(prefix="vmha-demo-") as scratch, contextlib.ExitStack() as cleanup:
            cleanup.enter_context(in_process.warnings_shown(report))
            port = in_process.free_port()
            cleanup.callback(quietly, report, "deleting the stack", lambda: delete(conn, self.name, _heat(report)))
            deployed = self._deploy(hosts, port)
            monitors = self._start_monitors(hosts, deployed, Path(scratch), cleanup)
            journal_url = options.journal_url or f"sqlite:///{scratch}/journal.db"
            settings = in_process.gateway_settings(options, deployed, port, journal_url, self.webhook_secret)
            served = in_process.start(settings, report)
            cleanup.callback(self._stop_gateway, served)
            placed = self._boot(hosts)
            ids = [server.id for server in placed]
            cleanup.callback(quietly, report, "deleting the servers", lambda: servers.delete(conn, ids, 120))
            victims = [server for server in placed if server.host == options.host]
            monitors.wait_ready(60.0)
            self._restore_afterwards(monitors, served, cleanup)
            watch = self._fail_and_recover(monitors, served.gateway.services.journal, victims)
            return _summary(watch, victims, len(placed) - len(victims), report)
        raise AssertionError("unreachable")  # ExitStack never swallows: mypy cannot tell

    def _deploy(self, hosts: list[str], port: int) -> Deployment:
        segment = {"name": self.name, "hosts": hosts, "recovery_method": "auto", "fencing": self.options.fencing}
        request = StackRequest(self.name, parameters={"gateway_url": f"http://127.0.0.1:{port}",
                                                      "queue_prefix": self.name, "segments": [segment]},
                               webhook_secret=self.webhook_secret)
        deployed = deploy(self.conn, request, _heat(self.report))
        self.report(f"[heat]       segment {self.name} over {', '.join(hosts)} (fencing {self.options.fencing}); "
                    f"queues {', '.join(deployed.queues.values())}")
        return deployed

    def _start_monitors(self, hosts: list[str], deployed: Deployment, scratch: Path,
                        cleanup: contextlib.ExitStack) -> HostMonitors:
        options = self.options
        setup = MonitorSetup(options.coordination_url, options.fencing_file, deployed.queues["notifications"],
                             self.name, options.cloud, options.nova_stale_seconds)
        monitors = HostMonitors(setup, scratch)
        cleanup.callback(self._stop_monitors, monitors)
        monitors.start(hosts)
        self.report(f"[monitor]    vmha monitor host on {', '.join(hosts)} (group of segment {self.name} on "
                    f"{options.coordination_url}; heartbeat every {INTERVAL_SECONDS:g} s, out after {MISSES} misses)")
        return monitors

    def _stop_monitors(self, monitors: HostMonitors) -> None:
        if monitors.running:
            quietly(self.report, f"stopping the host monitors of {', '.join(monitors.running)}", monitors.stop)

    def _stop_gateway(self, served: in_process.Served) -> None:
        if served.running:
            quietly(self.report, "stopping the gateway", served.stop)

    def _restore_afterwards(self, monitors: HostMonitors, served: in_process.Served,
                            cleanup: contextlib.ExitStack) -> None:
        """Clean-ups, run in this order: stop the monitors and the gateway (nothing may fence the host any
        more), power the host on, start it, put it back into service."""
        host, report = self.options.host, self.report
        cleanup.callback(quietly, report, f"restoring {host}",
                         lambda: restore(self.conn, host, self.options.start_command))
        cleanup.callback(quietly, report, f"powering {host} on",
                         lambda: report(f"[cleanup]    {power_on(host, self.options.fencing_file)}"))
        cleanup.callback(self._stop_gateway, served)
        cleanup.callback(self._stop_monitors, monitors)

    def _boot(self, hosts: list[str]) -> list[Placement]:
        options = self.options
        plan = [(f"{self.name}-{options.host}-{n}", options.host) for n in range(1, options.servers + 1)]
        plan += [(f"{self.name}-{host}-{n}", host) for host in hosts if host != options.host
                 for n in range(1, options.bystanders + 1)]
        self.report(f"[nova]       booting {len(plan)} HA_Enabled servers ({options.servers} on {options.host})")
        try:
            placed = servers.boot(self.conn, plan, options.image, options.flavor, 180.0)
        except (openstack.exceptions.ResourceFailure, openstack.exceptions.ResourceTimeout) as error:
            raise DemoError(f"booting the servers: {error}") from error
        for server in placed:
            self.report(f"[nova]       {server.name}: {server.status} on {server.host}")
        return placed

    def _fail_and_recover(self, monitors: HostMonitors, journal: Any, victims: list[Placement]) -> Watch:
        """Kill the host and its monitor, follow detection and recovery until they end or time out."""
        options, report = self.options, self.report
        pulse = _Pulse(report)
        detection, watch = Detection(monitors, options.host, pulse), Watch(journal, self.conn, victims, pulse)
        killing: subprocess.Popen[str] | None = launch(options.kill_command, options.host)
        monitors.kill(options.host)
        report.start = time.monotonic()
        report(f"[failure]    killing {options.host} as a power loss would: its nova-compute and its host monitor "
               "(SIGKILL), at once; the clock starts")
        deadline = report.start + options.timeout_seconds
        try:
            while True:
                if killing is not None and killing.poll() is not None:
                    finish(killing)  # DemoError if the kill command failed
                    killing = None
                    pulse(f"[failure]    {options.host}'s nova-compute is dead (the kill command ended)")
                found = detection.poll()
                if found is not None and watch.notification_id is None:
                    watch.notification_id = found.notification_id
                if watch.poll():
                    return watch
                if time.monotonic() > deadline:
                    report(f"[recovery]   gave up waiting after {options.timeout_seconds:.0f} s")
                    if found is None:  # what the surviving monitors last said tells why none reported
                        for host in monitors.running:
                            report(f"[detection]  {host}'s monitor last logged: {monitors.last_words(host)}")
                    return watch
                pulse.quiet("the monitors' report" if found is None else f"the recovery ({watch.phase})")
                time.sleep(0.5)
        finally:
            if killing is not None:
                finish(killing)


def usable_hosts(conn: Any, victim: str, image: str) -> list[str]:
    """The hosts that can run ``image`` (``image_hosts``), whose nova-compute is up and enabled and that no other
    segment holds (a host belongs to one segment); DemoError unless ``victim`` is one of them, with another
    beside it."""
    found = conn.image.find_image(image)
    if found is None:
        raise DemoError(f"Glance has no image {image}: choose another --image")
    able = image_hosts(conn, found)
    taken = taken_hosts(conn)
    hosts = [host for host in free_hosts(conn, taken) if host in able]
    if victim not in able:
        raise DemoError(f"{victim} cannot run the image {image} (it asks for hypervisor type "
                        f"{found.hypervisor_type}): choose --host among {', '.join(sorted(able)) or 'none'}")
    if victim in taken:
        raise DemoError(f"{victim} is already in the vmha segment {taken[victim]}: choose another --host")
    if victim not in hosts or len(hosts) < 2:
        state = compute_service(conn, victim)
        raise DemoError(f"{victim} must be up and enabled with another free host beside it that can run {image} "
                        f"(it is {state.state}/{state.status}; usable: {', '.join(hosts) or 'none'})")
    return hosts


def _heat(report: Progress) -> Callable[[str], None]:
    return lambda line: report(f"[heat]       {line}")


def _summary(watch: Watch, victims: list[Placement], bystanders: int, report: Progress) -> int:
    rows = [(server.name, server.host, watch.now[server.id].host if watch.now[server.id].host != server.host
             else "-", watch.now[server.id].status) for server in victims]
    ok = all(servers.recovered(server, watch.now[server.id]) for server in victims)
    lines = table(("SERVER", "OLD HOST", "NEW HOST", "STATE"), rows)
    print("\n" + "\n".join(lines), file=report.stream)
    if ok and watch.recovered_at is not None:
        took = f"{watch.recovered_at - report.start:.1f} s"
        print(f"recovery time: {took} (host killed -> every server ACTIVE on a new host)", file=report.stream)
    else:
        print("recovery FAILED: not every server is ACTIVE on a new host", file=report.stream)
    verdict = watch.status.value if watch.status else "never recorded"
    print(f"vmha's notification: {verdict}; {bystanders} servers on the other hosts were left alone\n",
          file=report.stream, flush=True)
    return 0 if ok else 1


def quietly(report: Progress, what: str, action: Callable[[], object]) -> None:
    """Clean-up: run ``action``, report a failure instead of raising (the next clean-up still runs)."""
    report(f"[cleanup]    {what}")
    try:
        action()
    except Exception as error:  # clean-up goes on whatever failed; the operator sees what
        report(f"[cleanup]    {what} failed: {type(error).__name__}: {error}")


class _Pulse:
    """Passes progress lines on; after QUIET_SECONDS without one, ``quiet`` says what is awaited."""

    def __init__(self, report: Progress) -> None:
        self._report, self._last = report, time.monotonic()

    def __call__(self, text: str) -> None:
        self._last = time.monotonic()
        self._report(text)

    def quiet(self, awaited: str) -> None:
        if time.monotonic() - self._last >= QUIET_SECONDS:
            self(f"[waiting]    {self._report.elapsed:.0f} s since the kill, waiting for {awaited}")


@contextlib.contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the demo as Ctrl-C does: its clean-ups run (monitors stopped, host restored, all deleted)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_number: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
