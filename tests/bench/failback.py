"""Benchmark of a failback (issue 18 item 2) on the local cloud: how long ``vmha.failback`` takes to move N
servers back to their host by live migration (Nova's fake driver), ``failback.max_parallel`` at a time.

For each server count, ``--iterations`` times: N servers are booted on one free fake host ("where the recovery
put them"); another free host, alone in a fresh segment, is the returned host; a finished recovery of it that
evacuated those servers is seeded in a fresh SQLite journal (``tests.failback_support``); then the clock runs
from ``start_failback`` (as ``POST /v1/hosts/{name}/failback`` calls it) until the failback has ended, its
passes run every ``--interval`` seconds as the gateway's sweeper runs them. Prints each run (seconds, servers
back, the slowest server's migration) and the median per count; ``--json`` writes them. Everything made is
removed afterwards. Run: `.venv/bin/python -m tests.bench.failback [--servers 1,4] [--iterations 1]
[--parallel 4] [--interval 1] [--json FILE]`. The local cloud must be up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.cloud import catalog, helpers
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.failback_support import seed_recovery
from tests.integration.recovery_support import segment
from vmha import failback
from vmha.contracts import parse_settings
from vmha.demo.hosts import free_hosts, taken_hosts
from vmha.journal import InstanceStatus, open_journal

TIMEOUT = 600.0


@dataclass(frozen=True)
class Run:
    servers: int
    parallel: int
    seconds: float
    back: int
    slowest_migration: float
    status: str


def run(layout: Layout, count: int, parallel: int, interval: float) -> Run:
    """One failback of ``count`` servers; see the module docstring."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    hosts = [host for host in free_hosts(conn, taken_hosts(conn)) if host in COMPUTE_HOSTS]
    if len(hosts) < 2:
        raise SystemExit(f"two free fake hosts are needed, found {hosts}")
    host, away = hosts[:2]
    settings = parse_settings({"failback": {"max_parallel": parallel}}, environ={})
    with tempfile.TemporaryDirectory() as work, segment(conn, (host,), {"vmha:recovery_method": "auto"},
                                                        prefix="fb-bench"):
        journal = open_journal(f"sqlite:///{Path(work) / 'journal.db'}")
        servers = helpers.boot_servers(conn, away, count, f"fb-bench-{count}")
        try:
            seed_recovery(journal, host, (server.id for server in servers), away, "fb-bench")
            started = time.monotonic()
            record = failback.start_failback(settings, journal, conn, host, by="bench")
            detail = journal.get_notification(record.id, with_events=False)
            while detail is not None and detail.notification.status.value in ("new", "running"):
                if time.monotonic() - started > TIMEOUT:
                    raise SystemExit(f"the failback did not end within {TIMEOUT:g} s")
                time.sleep(interval)
                failback.look_once(settings, journal, conn)
                detail = journal.get_notification(record.id, with_events=False)
            seconds = time.monotonic() - started
        finally:
            helpers.delete_servers(conn, servers)
            journal.close()
            conn.close()
    assert detail is not None
    back = [item for item in detail.instances if item.status is InstanceStatus.SUCCEEDED]
    slowest = max(((item.finished_at - item.started_at).total_seconds() for item in back if item.finished_at),
                  default=0.0)
    return Run(count, parallel, round(seconds, 2), len(back), round(slowest, 2), detail.notification.status.value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="1,4", help="server counts, comma-separated")
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=4, help="failback.max_parallel")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes (the sweep interval)")
    parser.add_argument("--json", type=Path, help="write the runs and medians here")
    args = parser.parse_args(argv)
    layout = Layout.from_env()
    runs, medians = [], {}
    for count in (int(text) for text in args.servers.split(",")):
        mine = [run(layout, count, args.parallel, args.interval) for _ in range(args.iterations)]
        for done in mine:
            print(f"failback of {done.servers} server(s), {done.parallel} at a time: {done.seconds:.1f} s, "
                  f"{done.back} back, slowest migration {done.slowest_migration:.1f} s ({done.status})")
        medians[count] = statistics.median(done.seconds for done in mine)
        print(f"median failback of {count} server(s): {medians[count]:.1f} s")
        runs += mine
    if args.json:
        document: dict[str, Any] = {"runs": [asdict(done) for done in runs], "median_seconds": medians}
        args.json.write_text(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
