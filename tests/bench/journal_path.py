"""Benchmark (issue 20 item 4): the CPU the journal costs the gateway per recovered server. Not a timed test:
it prints figures and writes them as JSON.

It replays, on a journal of its own (SQLite in a temporary directory unless ``--url``), the journal calls one
host recovery of ``--servers`` servers makes, in the order the runtime makes them: the recovery-wide steps
(fence, disable, plan, with the plan's pending row per server), then per server the evacuation (its step run,
the branch read, the fence read, the in-flight count, the ``ongoing`` row), ``--looks`` confirmation looks
(each a step run that fails until the last, which records ``succeeded``), each held message's claim recorded
and forgotten, and the branch's end (what the join decides on). ``--threads`` workers take
the servers concurrently, as the gateway's workers do. Figures: the process's CPU seconds per server, the
wall time, and the CPU per call of each journal method (measured around the calls, all threads together).
Run: `.venv/bin/python -m tests.bench.journal_path [--servers 50] [--looks 4] [--threads 4]
[--iterations 3] [--url URL] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from vmha.journal import (
    FenceMethod,
    HeldClaim,
    InstanceStatus,
    Journal,
    NewNotification,
    ProgressNote,
    StepClaim,
    StepKey,
    open_journal,
)

T = TypeVar("T")
LEASE = timedelta(seconds=60)
RECOVERY_STEPS = ("fence_host", "disable_compute_service", "plan_evacuation")
OWNER = "bench-replica"


@dataclass(frozen=True)
class Run:
    """One replay: its CPU and wall time, and the CPU per call of each journal method."""

    servers: int
    cpu_seconds: float
    wall_seconds: float
    cpu_per_server: float
    calls: dict[str, int]
    cpu_ms_per_call: dict[str, float]


class Meter:
    """CPU time of the calling thread spent in each named journal call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = defaultdict(int)
        self.cpu: dict[str, float] = defaultdict(float)

    @contextmanager
    def measuring(self, name: str) -> Iterator[None]:
        start = time.thread_time()
        try:
            yield
        finally:
            spent = time.thread_time() - start
            with self._lock:
                self.calls[name] += 1
                self.cpu[name] += spent

    def call(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(*args, **kwargs)``, measured under the name of the journal method ``work``."""
        with self.measuring(work.__name__):
            return work(*args, **kwargs)


def replay(journal: Journal, servers: int, looks: int, threads: int) -> Run:
    """The journal calls of one recovery of ``servers`` servers (see the module docstring)."""
    meter = Meter()
    nid = str(uuid.uuid4())
    journal.record_notification(_notification(nid), dedup_window=timedelta(0), terminal_within=timedelta(hours=1))
    journal.set_flow(nid, (*RECOVERY_STEPS, "evacuate_instance", "confirm_instance_evacuated"))
    instances = [str(uuid.uuid4()) for _ in range(servers)]
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for step in RECOVERY_STEPS:
        claim = _begin(journal, meter, StepKey(nid, step))
        if step == "fence_host":
            meter.call(journal.record_fence, nid, "failed-host", FenceMethod.IPMI, {"bmc": "x"})
        if step == "plan_evacuation":
            for instance in instances:
                meter.call(journal.record_instance_progress, nid, instance, InstanceStatus.PENDING,
                           source_host="failed-host")
        result = {"fan_out": instances} if step == "plan_evacuation" else {"done": True}
        meter.call(journal.finish_step, claim, result, note=ProgressNote("ok", 1.0))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda instance: _branch(journal, meter, nid, instance, looks), instances))
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return Run(servers=servers, cpu_seconds=round(cpu, 3), wall_seconds=round(wall, 3),
               cpu_per_server=round(cpu / servers, 5), calls=dict(meter.calls),
               cpu_ms_per_call={name: round(1000 * meter.cpu[name] / meter.calls[name], 3) for name in meter.calls})


def _branch(journal: Journal, meter: Meter, nid: str, instance: str, looks: int) -> None:
    _step_message(journal, meter, nid)
    claim = _begin(journal, meter, StepKey(nid, "evacuate_instance", instance))
    meter.call(journal.get_branch, nid, instance)
    meter.call(journal.get_fence, nid, "failed-host")
    meter.call(journal.count_instances, nid, InstanceStatus.ONGOING)
    meter.call(journal.record_instance_progress, nid, instance, InstanceStatus.ONGOING, dest_host="target-host",
               note=ProgressNote("evacuating", 0.5), step_id="evacuate_instance")
    meter.call(journal.finish_step, claim, {"requested": True}, note=ProgressNote("ok", 1.0))
    for look in range(1, looks + 1):
        held = HeldClaim("steps", uuid.uuid4().hex, uuid.uuid4().hex)
        meter.call(journal.hold_claim, OWNER, held)
        _step_message(journal, meter, nid)
        claim = _begin(journal, meter, StepKey(nid, "confirm_instance_evacuated", instance))
        meter.call(journal.get_branch, nid, instance)
        if look < looks:
            meter.call(journal.fail_step, claim, "not yet", note=ProgressNote("not yet", 1.0))
        else:
            meter.call(journal.record_instance_progress, nid, instance, InstanceStatus.SUCCEEDED,
                       note=ProgressNote("ACTIVE", 1.0), step_id="confirm_instance_evacuated")
            meter.call(journal.finish_step, claim, {"active": True}, note=ProgressNote("ok", 1.0))
        meter.call(journal.forget_claims, OWNER, (held,))
    meter.call(journal.get_join, nid, "plan_evacuation", "confirm_instance_evacuated")


def _step_message(journal: Journal, meter: Meter, nid: str) -> None:
    meter.call(journal.get_notification_record, nid)


def _begin(journal: Journal, meter: Meter, key: StepKey) -> StepClaim:
    start = meter.call(journal.begin_step, key, LEASE, OWNER, note=ProgressNote("started", 0.0))
    if not isinstance(start, StepClaim):
        raise RuntimeError(f"{key} was not claimed: {start}")
    return start


def _notification(nid: str) -> NewNotification:
    return NewNotification(id=nid, type="COMPUTE_HOST", hostname="failed-host", generated_time=datetime.now(UTC),
                           payload={"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"},
                           source="bench")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--looks", type=int, default=4, help="confirmation looks per server (the last succeeds)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--url", help="the journal's database (default: SQLite in a temporary directory)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{scratch}/journal.db"
        with open_journal(url) as journal:
            runs = [replay(journal, args.servers, args.looks, args.threads) for _ in range(args.iterations)]
    _print(runs)
    if args.json is not None:
        args.json.write_text(json.dumps(_summary(runs, args, url if args.url else "sqlite (temporary file)"),
                                        indent=2) + "\n")
    return 0


def _summary(runs: list[Run], args: argparse.Namespace, database: str) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "python": platform.python_version(), "cpus": len(os.sched_getaffinity(0))},
        "database": database,
        "servers": args.servers, "looks": args.looks, "threads": args.threads,
        "median_cpu_per_server": statistics.median(run.cpu_per_server for run in runs),
        "runs": [asdict(run) for run in runs],
    }


def _print(runs: list[Run]) -> None:
    for number, run in enumerate(runs, 1):
        print(f"run {number}: {run.servers} servers, CPU {run.cpu_seconds:.3f} s "
              f"({1000 * run.cpu_per_server:.1f} ms/server), wall {run.wall_seconds:.3f} s")
    names = sorted(runs[-1].calls, key=lambda name: -runs[-1].calls[name] * runs[-1].cpu_ms_per_call[name])
    print(f"{'CALL':26} {'CALLS':>6} {'CPU MS/CALL (median)':>21}")
    for name in names:
        per_call = statistics.median(run.cpu_ms_per_call[name] for run in runs)
        print(f"{name:26} {runs[-1].calls[name]:6d} {per_call:21.3f}")
    print(f"median CPU per server: {1000 * statistics.median(run.cpu_per_server for run in runs):.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
