"""The demo, start to end (see the package docstring); everything it makes is removed afterwards."""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import openstack

from vmha.console import Progress, table
from vmha.contracts import ClusterStatus, HostEvent, HostPayload, HostStatus, Notification, Settings, parse_settings
from vmha.demo import servers
from vmha.demo.hosts import DemoError, compute_service, free_hosts, restore, run_command, taken_hosts
from vmha.demo.options import DemoOptions
from vmha.demo.servers import Placement
from vmha.demo.watch import Watch
from vmha.deploy import Deployment, StackRequest, delete, deploy
from vmha.functions import STEPS, intake
from vmha.journal import utc_now
from vmha.runtime import ZaqarQueues, gateway

BOOT_MICROVERSION = "2.74"
"""Booting on a named host (``host``) needs 2.74; recovery itself runs at vmha.context.COMPUTE_MICROVERSION."""


def run(options: DemoOptions, report: Progress | None = None) -> int:
    """Run the demo; 0 when every server of the killed host ended ACTIVE on another host, else 1."""
    try:
        conn = openstack.connect(cloud=options.cloud or None, compute_api_version=BOOT_MICROVERSION)
    except openstack.exceptions.ConfigException as error:
        raise DemoError(f"OpenStack credentials: {error}") from error
    return Demo(conn, options, report or Progress()).run()


class Demo:
    """One demo run on ``conn``; every resource it makes has the unique prefix ``name``."""

    def __init__(self, conn: Any, options: DemoOptions, report: Progress) -> None:
        self.conn, self.options, self.report = conn, options, report
        self.name = f"vmha-demo-{uuid.uuid4().hex[:6]}"
        self.webhook_secret = secrets.token_hex(32)  # this run's gateway only: signs the stack's webhook URLs

    def run(self) -> int:
        conn, options, report = self.conn, self.options, self.report
        hosts = _usable_hosts(conn, options.host)
        with tempfile.TemporaryDirectory(prefix="vmha-demo-") as scratch, contextlib.ExitStack() as cleanup:
            cleanup.enter_context(_gateway_warnings(report))
            port = _free_port()
            cleanup.callback(_quietly, report, "deleting the stack", lambda: delete(conn, self.name, _heat(report)))
            deployed = self._deploy(hosts, port)
            settings = _settings(options, deployed, port, options.journal_url or f"sqlite:///{scratch}/journal.db",
                                 self.webhook_secret)
            built = _start_gateway(settings, cleanup, report)
            placed = self._boot(hosts)
            ids = [server.id for server in placed]
            cleanup.callback(_quietly, report, "deleting the servers", lambda: servers.delete(conn, ids, 120))
            victims = [server for server in placed if server.host == options.host]
            cleanup.callback(_quietly, report, f"restoring {options.host}",
                             lambda: restore(conn, options.host, options.start_command))
            watch = self._fail_and_recover(settings, built.services.journal, victims)
            return _summary(watch, victims, len(placed) - len(victims), report)
        raise AssertionError("unreachable")  # ExitStack never swallows: mypy cannot tell

    def _deploy(self, hosts: list[str], port: int) -> Deployment:
        segment = {"name": self.name, "hosts": hosts, "recovery_method": "auto", "fencing": self.options.fencing}
        request = StackRequest(self.name, parameters={"gateway_url": f"http://127.0.0.1:{port}",
                                                      "queue_prefix": self.name, "segments": [segment]},
                               webhook_secret=self.webhook_secret)
        deployed = deploy(self.conn, request, _heat(self.report))
        self.report(f"[heat]       segment {self.name} over {', '.join(hosts)}; "
                    f"queues {', '.join(deployed.queues.values())}")
        return deployed

    def _boot(self, hosts: list[str]) -> list[Placement]:
        options = self.options
        plan = [(f"{self.name}-{options.host}-{n}", options.host) for n in range(1, options.servers + 1)]
        plan += [(f"{self.name}-{host}-{n}", host) for host in hosts if host != options.host
                 for n in range(1, options.bystanders + 1)]
        self.report(f"[nova]       booting {len(plan)} HA_Enabled servers ({options.servers} on {options.host})")
        placed = servers.boot(self.conn, plan, options.image, options.flavor, 180.0)
        for server in placed:
            self.report(f"[nova]       {server.name}: {server.status} on {server.host}")
        return placed

    def _fail_and_recover(self, settings: Settings, journal: Any, victims: list[Placement]) -> Watch:
        """Kill the host, report it, follow the recovery until it ends or times out."""
        options, report = self.options, self.report
        report(f"[failure]    killing {options.host} (its nova-compute, SIGKILL)")
        run_command(options.kill_command, options.host)
        report.start = time.monotonic()
        report(f"[failure]    {options.host} is dead; the clock starts")
        notification = Notification(uuid.uuid4(), "vmha-demo", options.host, utc_now(),
                                    HostPayload(HostEvent.STOPPED, HostStatus.NORMAL, ClusterStatus.OFFLINE))
        if options.notify:
            ZaqarQueues(self.conn.session).post(settings.queues.notifications, notification.to_dict(), ttl=3600)
            report(f"[detection]  COMPUTE_HOST notification {notification.id} posted (as a host monitor would)")
        watch = Watch(journal, self.conn, str(notification.id), victims, report)
        deadline = time.monotonic() + options.timeout_seconds
        while not watch.poll():
            if time.monotonic() > deadline:
                report(f"[recovery]   gave up waiting after {options.timeout_seconds:.0f} s")
                break
            time.sleep(0.5)
        return watch

def _usable_hosts(conn: Any, victim: str) -> list[str]:
    """The hosts whose nova-compute is up and enabled and that no other segment holds (a host belongs to
    one segment); DemoError unless ``victim`` is one of them, with another beside it."""
    taken = taken_hosts(conn)
    hosts = free_hosts(conn, taken)
    if victim in taken:
        raise DemoError(f"{victim} is already in the vmha segment {taken[victim]}: choose another --host")
    if victim not in hosts or len(hosts) < 2:
        state = compute_service(conn, victim)
        raise DemoError(f"{victim} must be up and enabled with another free host beside it "
                        f"(it is {state.state}/{state.status}; usable: {', '.join(hosts) or 'none'})")
    return hosts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _heat(report: Progress) -> Callable[[str], None]:
    return lambda line: report(f"[heat]       {line}")


def _settings(options: DemoOptions, deployed: Deployment, port: int, journal_url: str, secret: str) -> Settings:
    return parse_settings({
        "journal_url": journal_url,
        "dedup_window_seconds": 0,
        "queues": dict(deployed.queues),
        "retry": {"initial_delay_seconds": 1, "max_delay_seconds": 5},
        "gateway": {"cloud": options.cloud or "", "poll_interval_seconds": 5,
                    "listen_host": "127.0.0.1", "listen_port": port},
        "api": {"webhook_secret": secret},
    }, {})


def _start_gateway(settings: Settings, cleanup: contextlib.ExitStack, report: Progress) -> gateway.Gateway:
    built = gateway.build(settings, STEPS, intake)
    stop = threading.Event()
    thread = threading.Thread(target=gateway.serve, args=(built, stop, 10.0), name="vmha-demo-gateway", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(60)

    cleanup.callback(_quietly, report, "stopping the gateway", halt)
    report(f"[gateway]    running at {built.http.url} ({settings.gateway.workers} workers)")
    return built


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


@contextlib.contextmanager
def _gateway_warnings(report: Progress) -> Iterator[None]:
    """Show the in-process gateway's warnings and errors as progress lines while the demo runs."""
    handler = _ReportHandler(report)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


class _ReportHandler(logging.Handler):
    def __init__(self, report: Progress) -> None:
        super().__init__(logging.WARNING)
        self._report = report

    def emit(self, record: logging.LogRecord) -> None:
        self._report(f"[gateway]    {record.levelname.lower()}: {record.getMessage()}")


def _quietly(report: Progress, what: str, action: Callable[[], object]) -> None:
    """Clean-up: run ``action``, report a failure instead of raising (the next clean-up still runs)."""
    report(f"[cleanup]    {what}")
    try:
        action()
    except Exception as error:  # clean-up goes on whatever failed; the operator sees what
        report(f"[cleanup]    {what} failed: {type(error).__name__}: {error}")
