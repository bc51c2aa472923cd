"""One hung guest detected by vmha's introspective monitor and its restart: agent hung -> server restarted.

As ``tests.bench.vm_failure`` (same segment, server and gateway), but nothing posts the notification and the
server is never stopped by hand: a real ``qemu-ga`` stands for the HA server's guest agent, a libvirt
test-driver domain (a node file) whose uuid is the Nova server's id names it in its agent channel, and a
``vmha monitor introspective`` process (a settings file, as deployed) pings it every 1 s, a ping unanswered
within 0.5 s is a miss, 3 misses make a QEMU_GUEST_AGENT_ERROR notification on the gateway's queue (socket
transport: the test driver cannot relay agent commands; opt-in all: the node file holds this guest alone).
The agent is hung (SIGSTOP) at t0; the gateway's VM flow hard-reboots the hung guest (``stop_instance``); the
clock stops when Nova shows it restarted: a ``reboot`` instance action begun after t0 has finished and the
server is ACTIVE with no task. The ``detection`` span (t0 -> the notification's generated_time, the monitor's
clock on this machine) comes first; the journal's ``intake`` span starts at t0, so it covers detection + intake.
Everything made is removed afterwards (server, agent, monitor, its node file, queues, segment).
``--hypervisor kvm``: the HA server is a real guest on a kvm profile host (``tests.bench.hypervisor``), the
monitor pings its qemu-ga through that host's libvirtd (the libvirt transport, virDomainQemuAgentCommand; a
ping unanswered within 2 s is a miss: TCG guests on a busy machine answer slower), and the agent is stopped
inside the guest (``vmha-guest stop-agent``, a SIGSTOP of qemu-ga there). Each kvm run also gives what the
guest costs: seconds from asking Nova for the server to its agent answering, and its QEMU process's RSS.
Run: `.venv/bin/python -m tests.bench.guest_heartbeat [--iterations 1] [--hypervisor fake|kvm] [--json FILE]`
with the local cloud up.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import libvirt
import yaml

from tests.bench import nova_events, report, timeline
from tests.bench.host_failure import BenchError, Run, verdict
from tests.bench.hypervisor import FAKE, HYPERVISORS, KVM, qemu_pids, rss_mib
from tests.bench.monitors import healthy
from tests.bench.vm_failure import ha_server, wait_restarted
from tests.cloud import kvm_hosts
from tests.cloud.layout import Layout
from tests.integration.kvm_support import answers, guest_command
from tests.integration.recovery_support import Recoveries
from tests.monitors_support import DOMAIN_XML, qemu_agents, wait_until
from vmha.contracts import FailureType
from vmha.demo.servers import Placement
from vmha.functions.registry import resolve_flow
from vmha.journal import TERMINAL, NotificationFilter, utc_now
from vmha.monitors.agents import agent_socket

SCENARIO = "vm heartbeat"
INTERVAL_SECONDS, TIMEOUT_SECONDS, MISSES = 1.0, 0.5, 3
KVM_TIMEOUT_SECONDS = 2.0
KVM_GIVE_UP_SECONDS = 420.0
"""kvm: from the hang to giving up (when vmha stopped a hung guest, Nova's clean stop through its agent took
153 s on 2026-12-04)."""
RESTART = "reboot"
"""Nova's instance action of the hung guest's restart."""
BOOT_SECONDS = 300.0
"""The longest wait for a kvm guest's agent to answer after its server is ACTIVE (TCG on a busy machine)."""
DETECTION_DEADLINE = 60.0
"""Seconds from the hang to the notification in the journal before the run is given up."""
POLL_SECONDS = 0.2
VMHA = str(Path(sys.executable).parent / "vmha")


@dataclasses.dataclass(frozen=True)
class GuestCost:
    """What one real (kvm host) guest costs."""

    boot_seconds: float
    """From asking Nova for the server to its guest agent first answering through libvirt."""
    rss_mib: float
    """Its QEMU process's resident memory once the agent answers."""


def run(layout: Layout, work: Path, timeout: float = 120.0) -> Run:
    """Hang the guest agent of one HA server on a fake host and time its restart by vmha; see the module
    docstring."""
    with ha_server(layout, work) as (conn, recoveries, server, _), qemu_agents(work / "agents", 1) as [agent]:
        node = work / "node.xml"
        node.write_text("<node>\n" + DOMAIN_XML.format(name=f"bench-{server.id[:8]}", uuid=server.id,
                                                       socket=agent.socket) + "\n</node>\n")
        watch = {"libvirt_uri": f"test://{node}", "introspective": {
            "transport": "socket", "socket_path_pattern": r".*/agent\.sock", "timeout_seconds": TIMEOUT_SECONDS}}
        with monitor(layout, work, recoveries.queues["notifications"], server, watch):
            return _fail(conn, recoveries, server, lambda: agent.signal(signal.SIGSTOP), timeout=timeout)
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


def run_kvm(layout: Layout, work: Path, timeout: float = 120.0) -> tuple[Run, GuestCost]:
    """As ``run``, the server a real guest on a kvm host watched through its libvirtd; see the module
    docstring."""
    with ha_server(layout, work, KVM) as (conn, recoveries, server, asked):
        libvirt_uri = kvm_hosts.libvirt_uri(layout, server.host)
        libvirt.registerErrorHandler(_raised_only, None)  # each unanswered ping while it boots printed a line
        hypervisor = libvirt.open(libvirt_uri)
        try:
            dom = hypervisor.lookupByUUIDString(server.id)
            if not wait_until(lambda: answers(dom), BOOT_SECONDS, 0.2):
                raise BenchError(f"the guest agent of {server.name} did not answer within {BOOT_SECONDS:.0f} s")
            [qemu] = qemu_pids(layout, conn, [server.id])
            cost = GuestCost(time.monotonic() - asked, rss_mib(qemu))
            channel = agent_socket(dom.XMLDesc(0), "org.qemu.guest_agent.0") or ""
            watch = {"libvirt_uri": libvirt_uri, "introspective": {
                "transport": "libvirt", "socket_path_pattern": re.escape(channel),
                "timeout_seconds": KVM_TIMEOUT_SECONDS}}
            with monitor(layout, work, recoveries.queues["notifications"], server, watch):
                stopped = _fail(conn, recoveries, server, lambda: guest_command(dom, "stop-agent"), timeout=timeout,
                                labels=KVM.labels)
                return stopped, cost
        finally:
            hypervisor.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


def _raised_only(_opaque: object, _error: object) -> None:
    """libvirt's errors are raised as exceptions; its default handler also prints each one."""


@contextlib.contextmanager
def monitor(layout: Layout, work: Path, queue: str, server: Placement, watch: dict[str, Any]) -> Iterator[None]:
    """A ``vmha monitor introspective`` process watching the server's guest, healthy; stopped on the way out.
    ``watch``: its libvirt_uri and the introspective settings of its transport."""
    introspective = {"misses": MISSES, "interval_seconds": INTERVAL_SECONDS, **watch["introspective"]}
    settings = {"queues": {"notifications": queue}, "monitor": {
        "hostname": server.host, "cloud": "vmha-admin", "state_dir": str(work / "state"),
        "libvirt_uri": watch["libvirt_uri"], "log_level": "INFO",
        "sink": {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5}, "introspective": introspective}}
    (work / "monitor.yaml").write_text(yaml.safe_dump(settings))
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml)}
    with (work / "monitor.log").open("wb") as log:
        process = subprocess.Popen([VMHA, "monitor", "introspective", "--config", str(work / "monitor.yaml")],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_until(lambda: healthy(work / "state", [server.id]) or process.poll() is not None, 60, 0.2) \
                or process.poll() is not None:
            raise BenchError(f"the guest never became healthy: {(work / 'monitor.log').read_text()[-2000:]}")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _fail(conn: Any, recoveries: Recoveries, server: Placement, hang: Callable[[], object], *, timeout: float,
          labels: tuple[str, ...] = ()) -> Run:
    t0, started = utc_now(), time.monotonic()
    hang()
    nid, generated = _reported(recoveries, server.host, t0, started + DETECTION_DEADLINE)
    done_at = wait_restarted(conn, server.id, t0, started + timeout, lambda: recoveries.status(nid) in TERMINAL,
                             action=RESTART)
    detail = recoveries.wait_ended(nid, 60.0)
    detection = timeline.Span("detection", 0.0, (generated - t0).total_seconds(), 1, 1)
    flow = resolve_flow(FailureType.VM, None)
    name = " ".join((SCENARIO, *labels))
    return Run(name, 1, int(done_at is not None), None if done_at is None else done_at - started,
               verdict(detail), server.host, (detection, *timeline.spans(detail, t0)),
               tuple(timeline.hops(detail, flow)), tuple(nova_events.spans(conn, [server.id], RESTART, t0)))


def _reported(recoveries: Recoveries, host: str, since: datetime, deadline: float) -> tuple[str, datetime]:
    """The id and generated_time of the host's notification once the gateway journaled it."""
    wanted = NotificationFilter(hostname=host, generated_since=since.replace(microsecond=0))
    while time.monotonic() < deadline:
        found = recoveries.journal.list_notifications(wanted, limit=1)
        if found:
            return found[0].id, found[0].generated_time
        time.sleep(0.1)
    raise BenchError(f"the introspective monitor did not report {host} within {DETECTION_DEADLINE:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.guest_heartbeat",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1, help="runs (default 1)")
    parser.add_argument("--timeout", type=float, help="seconds from the hang to give up (default 120; kvm 420: Nova's "
                        "clean stop of a guest whose agent hangs takes minutes, see the README)")
    parser.add_argument("--hypervisor", choices=tuple(HYPERVISORS), default=FAKE.name,
                        help="kvm: a real guest on a kvm profile host, the libvirt transport (default fake)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    options = parser.parse_args(argv)
    # Imported here: tests.bench.recovery may import this module, and would then be only half loaded.
    from tests.bench.recovery import (  # noqa: PLC0415
        Results,
        document,
        domain_type,
        print_results,
        print_run,
        scenario_hops,
    )
    if options.iterations < 1:
        parser.error("--iterations must be at least 1")
    kvm = HYPERVISORS[options.hypervisor] is not FAKE
    give_up = options.timeout or (KVM_GIVE_UP_SECONDS if kvm else 120.0)
    timeout = KVM_TIMEOUT_SECONDS if kvm else TIMEOUT_SECONDS
    print(f"introspective monitor: interval {INTERVAL_SECONDS} s, timeout {timeout} s, misses {MISSES}"
          + (f"; kvm hosts: libvirt domain type {domain_type()} (qemu: TCG, no usable KVM)" if kvm else ""))
    runs, costs = [], []
    for iteration in range(1, options.iterations + 1):
        with tempfile.TemporaryDirectory(prefix="vmha-bench-") as work:
            if kvm:
                found, cost = run_kvm(Layout.from_env(), Path(work), give_up)
                costs.append(cost)
            else:
                found = run(Layout.from_env(), Path(work), give_up)
        print_run(found, f"guest agent hung on {found.host}, iteration {iteration}", sys.stdout)
        for cost in costs[-1:] if kvm else ():
            print(f"the guest: agent answering {cost.boot_seconds:.1f} s after the server was asked for; its QEMU "
                  f"process's RSS {cost.rss_mib:.0f} MiB")
        runs.append(found)
    summary = report.summarize(runs[0].scenario, [found.rto_seconds for found in runs], None, {})
    results = Results(tuple(runs), (summary,), scenario_hops(runs))
    print_results(results)
    if options.json:
        arguments = {"iterations": options.iterations, "hypervisor": options.hypervisor, "give_up_seconds": give_up,
                     "domain_type": domain_type() if kvm else None, "interval_seconds": INTERVAL_SECONDS,
                     "timeout_seconds": timeout, "misses": MISSES}
        written = document(results, arguments)
        written["benchmark"] = "vmha guest heartbeat: agent hung -> server restarted"
        written["guest_cost"] = [dataclasses.asdict(cost) for cost in costs]
        options.json.write_text(json.dumps(written, indent=2) + "\n")
    return 0 if all(found.rto_seconds is not None for found in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
