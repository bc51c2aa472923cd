"""Benchmark (issue 16 item 1): do idle HTTP clients slow a recovery down? Not a timed test: it prints figures
and writes them as JSON.

Each iteration runs two host failures of ``--servers`` HA servers the way ``tests.bench.host_failure`` stages
and times them (a real ``vmha gateway`` process, its host's nova-compute SIGKILLed and the notification
posted at that instant, the clock stopped when every server is ACTIVE elsewhere): one with no HTTP client,
one with ``--connections`` idle connections to the gateway opened after it started and held open across the
whole recovery, half of them kept alive after one request (``GET /healthz``), half silent (connected, never a
byte). The order within an iteration alternates, so a cloud that slows down or speeds up over the run weighs
on both. The figures: each run's RTO, the medians with and without the connections and their difference
(the target: under 10 %), how many connections were still open at the end, the gateway's threads before and
with the connections (they hold none: cheroot keeps idle connections in one selector, ``vmha.api.server``).
The gateway runs vmha's default HTTP settings but a 900 s ``http.idle_timeout_seconds`` (``HTTP``).
Run: `.venv/bin/python -m tests.bench.idle_connections [--servers 10] [--connections 500] [--iterations 3]
[--method auto] [--json FILE]`. The local cloud must be up (`python -m tests.cloud up`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.bench import host_failure
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.integration.recovery_support import Recoveries
from vmha.contracts import RecoveryMethod
from vmha.journal import utc_now

TARGET = 0.10
"""The largest change of the median RTO the idle connections may cause (issue 16)."""
HTTP = {"http": {"idle_timeout_seconds": 900}}
"""The gateway's settings besides the staging's: the connections opened before the kill must outlive the whole
run, reading the journal and Nova's event log after the recovery included (minutes), not only the recovery."""
_LISTENING = re.compile(r'"message": "http endpoint listening", "url": "([^"]+)"')


@dataclass(frozen=True)
class Measured:
    """One recovery: with how many idle connections, its RTO, what the gateway and the connections did."""

    connections: int
    rto_seconds: float | None
    verdict: str
    still_open: int
    gateway_threads_before: int
    gateway_threads_with_connections: int


def gateway_address(recoveries: Recoveries) -> tuple[str, int, int]:
    """Host, port and pid of the staged gateway (from the URL it logged at start)."""
    process = recoveries.processes[-1]
    found = _LISTENING.search(recoveries.log_of(process))
    assert found is not None, "the gateway logged no endpoint URL"
    url = urlsplit(found.group(1))
    assert url.hostname is not None and url.port is not None
    return url.hostname, url.port, process.pid


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def idle(host: str, port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections to the gateway, the first half kept alive after one request, the rest silent."""
    held: list[socket.socket] = []
    try:
        for index in range(count):
            client = socket.create_connection((host, port), timeout=30)
            held.append(client)
            if index < count // 2:
                client.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                answer = client.recv(65536)
                assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
                if not answer.endswith(b"}"):  # the body came in a segment of its own
                    client.recv(65536)
        yield held
    finally:
        for client in held:
            client.close()


def still_open(held: Sequence[socket.socket]) -> int:
    """How many of ``held`` the gateway has not closed (nothing to read and no end of stream)."""
    count = 0
    for client in held:
        client.setblocking(False)  # with a timeout, Python would wait for data before even a MSG_DONTWAIT recv
        try:
            count += client.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            count += 1
        except OSError:
            pass
    return count


def one(layout: Layout, work: Path, method: RecoveryMethod, servers: int, connections: int) -> Measured:
    """One host failure of ``servers`` servers with ``connections`` idle connections held across it."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = host_failure.plan(conn, method)
        with host_failure.staged(conn, layout, work, chosen, settings=HTTP) as (recoveries, _):
            address, port, pid = gateway_address(recoveries)
            placed = host_failure.boot(conn, chosen.failed, servers)
            with host_failure.restored(conn, layout, chosen.failed, placed):
                before = threads(pid)
                with idle(address, port, connections) as held:
                    during = threads(pid)
                    helpers.kill_host(layout, chosen.failed)
                    killed = (utc_now(), time.monotonic())
                    nid = recoveries.notify(chosen.failed, host_failure.HOST_DOWN)
                    run = host_failure.outcome(conn, recoveries, method, placed, killed=killed, nid=nid,
                                               timeout=host_failure.TIMEOUT)
                    left = still_open(held)
    finally:
        conn.close()
    return Measured(connections, run.rto_seconds, run.verdict, left, before, during)


def median(runs: Sequence[Measured], loaded: bool) -> float | None:
    times = [run.rto_seconds for run in runs if (run.connections > 0) == loaded and run.rto_seconds is not None]
    return statistics.median(times) if times else None


def summary(runs: Sequence[Measured]) -> dict[str, Any]:
    without, with_idle = median(runs, False), median(runs, True)
    change = None if not without or with_idle is None else (with_idle - without) / without
    return {"median_rto_without_seconds": without, "median_rto_with_idle_seconds": with_idle,
            "change": change, "target": TARGET, "met": change is not None and change < TARGET}


def line(run: Measured) -> str:
    rto = "NOT RECOVERED" if run.rto_seconds is None else f"{run.rto_seconds:6.2f} s"
    held = f", {run.still_open}/{run.connections} still open at the end" if run.connections else ""
    return (f"{run.connections:>5} idle connections: RTO {rto} ({run.verdict}); gateway threads "
            f"{run.gateway_threads_before} -> {run.gateway_threads_with_connections}{held}")


def measure(layout: Layout, method: RecoveryMethod, servers: int, connections: int, iterations: int) -> list[Measured]:
    runs: list[Measured] = []
    for iteration in range(iterations):
        order = (0, connections) if iteration % 2 == 0 else (connections, 0)
        for count in order:
            with tempfile.TemporaryDirectory(prefix="vmha-bench-") as work:
                runs.append(one(layout, Path(work), method, servers, count))
            print(f"iteration {iteration + 1}: {line(runs[-1])}", flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.idle_connections",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10, help="HA servers on the failed host (default 10)")
    parser.add_argument("--connections", type=int, default=500, help="idle connections held (default 500)")
    parser.add_argument("--iterations", type=int, default=3, help="pairs of runs, without and with (default 3)")
    parser.add_argument("--method", type=RecoveryMethod, default=RecoveryMethod.AUTO, help="recovery method")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    options = parser.parse_args(argv)
    if min(options.servers, options.connections, options.iterations) < 1:
        parser.error("--servers, --connections and --iterations must be at least 1")
    runs = measure(Layout.from_env(), options.method, options.servers, options.connections, options.iterations)
    result = summary(runs)
    change = "n/a" if result["change"] is None else f"{result['change']:+.1%}"
    print(f"\nmedian RTO without: {result['median_rto_without_seconds']} s, with {options.connections} idle "
          f"connections: {result['median_rto_with_idle_seconds']} s; change {change} (target < {TARGET:.0%}: "
          f"{'met' if result['met'] else 'NOT met'})")
    if options.json:
        document = {
            "benchmark": "vmha recovery time with idle HTTP connections to the gateway",
            "date": utc_now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                                    * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                        "python": platform.python_version(), "system": platform.platform(),
                        "load_average_at_end": os.getloadavg()},
            "arguments": {"servers": options.servers, "connections": options.connections,
                          "iterations": options.iterations, "method": options.method.value},
            "summary": result,
            "runs": [asdict(run) for run in runs],
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0 if all(run.rto_seconds is not None for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
