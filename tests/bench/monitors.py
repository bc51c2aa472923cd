"""Benchmark of `vmha monitor all` watching N real QEMU guest agents (default 100).

Starts N qemu-ga processes and a libvirt test-driver node file with one running domain per agent, runs
`vmha monitor all` as its own process (sink: a fresh queue of the local cloud's Zaqar), waits until
every guest is healthy, measures the monitor's RSS and CPU over a steady window, then hangs (SIGSTOP) and
kills (SIGKILL) agents one at a time and measures the detection latency from the fault to the message
in the Zaqar queue. Run: `.venv/bin/python -m tests.bench.monitors [--agents 100] [--interval 2]`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.monitors_support import DOMAIN_XML, Agent, qemu_agents, queue_bodies, wait_until, zaqar_queue

TICKS = os.sysconf("SC_CLK_TCK")


def node_file(path: Path, agents: list[Agent]) -> list[str]:
    """A test-driver node file with one running domain per agent; returns the domain uuids."""
    uuids = [str(uuid.uuid4()) for _ in agents]
    domains = [DOMAIN_XML.format(name=f"bench-{i}", uuid=u, socket=a.socket) for i, (u, a) in
               enumerate(zip(uuids, agents, strict=True))]
    path.write_text("<node>\n" + "\n".join(domains) + "\n</node>\n")
    return uuids


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory(pid: int) -> str:
    """RSS, PSS (shared library pages divided among their users) and private memory, in MiB."""
    rollup = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in
              Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]}
    private = rollup["Private_Clean"] + rollup["Private_Dirty"]
    return f"RSS {rollup['Rss']:.1f} MiB, PSS {rollup['Pss']:.1f} MiB, private {private:.1f} MiB"


def healthy(state: Path, uuids: list[str]) -> bool:
    try:
        states = json.loads((state / "heartbeats.json").read_text())
    except (FileNotFoundError, ValueError):
        return False
    phases = {key.split(":")[0]: phase for key, (phase, _) in states.items()}
    return all(phases.get(u) == "healthy" for u in uuids)


def start_monitor(work: Path, queue: str, uri: str, args: argparse.Namespace, layout: Layout) -> Any:
    (work / "process_list.yaml").write_text("processes: []\n")
    settings = {"queues": {"notifications": queue}, "monitor": {
        "hostname": "compute1", "cloud": "vmha-admin", "state_dir": str(work / "state"), "libvirt_uri": uri,
        "log_level": "WARNING", "process": {"process_list": str(work / "process_list.yaml")},
        "introspective": {"transport": "socket", "socket_path_pattern": r".*/agent\.sock", "misses": args.misses,
                          "interval_seconds": args.interval, "timeout_seconds": args.timeout}}}
    (work / "settings.yaml").write_text(yaml.safe_dump(settings))
    # MALLOC_ARENA_MAX as monitors/systemd/vmha-monitor@.service sets it: measured as deployed.
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "MALLOC_ARENA_MAX": "2"}
    return subprocess.Popen([str(Path(sys.executable).parent / "vmha"), "monitor", "all", "--config",
                             str(work / "settings.yaml")], env=env, stderr=(work / "monitor.log").open("wb"))


def detection(zaqar: Any, queue: str, agent: Agent, fault: signal.Signals, seen: int) -> float:
    started = time.monotonic()
    agent.signal(fault)
    if not wait_until(lambda: len(queue_bodies(zaqar, queue)) > seen, 300, 0.05):
        raise RuntimeError("fault not detected")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--misses", type=int, default=3)
    parser.add_argument("--window", type=float, default=30.0, help="seconds of steady state measured")
    parser.add_argument("--faults", type=int, default=4)
    args = parser.parse_args()
    layout = Layout.from_env()
    zaqar = helpers.zaqar(catalog.connect(layout))
    with tempfile.TemporaryDirectory() as tmp, qemu_agents(Path(tmp) / "agents", args.agents) as agents, \
            zaqar_queue(zaqar, "vmha-bench") as queue:
        work = Path(tmp)
        uuids = node_file(work / "node.xml", agents)
        monitor = start_monitor(work, queue, f"test://{work / 'node.xml'}", args, layout)
        try:
            if not wait_until(lambda: healthy(work / "state", uuids), 120, 0.2):
                raise RuntimeError(f"guests not healthy; see {work / 'monitor.log'}")
            cpu0, t0 = cpu_seconds(monitor.pid), time.monotonic()
            time.sleep(args.window)  # the steady state under measurement
            cpu_share = (cpu_seconds(monitor.pid) - cpu0) / (time.monotonic() - t0)
            print(f"guests watched: {args.agents}  interval {args.interval} s  timeout {args.timeout} s  "
                  f"misses {args.misses}")
            print(f"monitor memory: {memory(monitor.pid)}")
            print(f"monitor CPU: {100 * cpu_share:.2f} % of one core (over {args.window:.0f} s)")
            latencies = [detection(zaqar, queue, agents[i], signal.SIGSTOP if i % 2 else signal.SIGKILL, i)
                         for i in range(args.faults)]
            print("detection latency fault -> Zaqar message (s): " + ", ".join(f"{x:.2f}" for x in latencies)
                  + f"   bound: interval x misses + 1 = {args.interval * args.misses + 1:.1f}")
            print(f"monitor memory after the faults: {memory(monitor.pid)}")
        finally:
            monitor.send_signal(signal.SIGTERM)
            monitor.wait(30)


if __name__ == "__main__":
    main()
