"""A host failure recovered by two gateway replicas, one of them SIGKILLed mid-recovery (issue 15 item 1).

As ``tests.bench.host_failure`` (way (a): the host's nova-compute SIGKILLed and its notification posted at that
instant; the clock stops when every server is ACTIVE elsewhere; fencing required, through the host's Redfish
BMC emulator), tried as an operator would run it: two ``vmha gateway`` processes share the queues, a MariaDB
journal (a database of the local cloud's MariaDB made for the run and dropped after) and etcd coordination,
every other setting vmha's default (claims of 300 s, a poll every 10 s, retries from 5 s, takeover after 10 s).
Each replica runs in a UTS namespace of its own with a host name of its own (``REPLICAS``), as replicas on two
controllers do: a survivor can only see the dead replica's heartbeat stop (``gateway.takeover_seconds``), never
find its process gone on its own machine.

With ``kill``, ``KILL_AFTER`` seconds after the host's kill, and not before an evacuation began, the replica
holding the most Zaqar claims (then running the most steps) in the journal is SIGKILLed (and reaped), and its
Zaqar subscriptions deleted: deployed replicas share one subscribed URL (heat/wiring.yaml) behind which a dead one
gets no pushes, whereas each push to a dead URL holds one of Zaqar's notifier threads for its retries (about 7 s
with the deployed retry policy, minutes with Zaqar's default). Measured
(``tests.bench.takeover.Takeover``): the kill's time and what the replica held, when a survivor logged its
takeover, the time from the kill to the last server ACTIVE elsewhere, Nova's evacuate actions per server, the
failed host's BMC power requests (its emulator's log of ComputerSystem.Reset) and fence records, and which
replica ended which steps (each step run's last owner in the journal). Runs without ``kill`` are the baseline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.bench import host_failure
from tests.bench.fencing import Kind
from tests.bench.host_failure import HOST_DOWN, BenchError, Run
from tests.bench.takeover import Takeover
from tests.cloud import catalog, helpers, infra, procs
from tests.cloud.layout import Layout
from tests.host_monitor_support import backend_url
from tests.integration.recovery_support import ROOT, VMHA, Recoveries, replayed
from vmha.contracts import RecoveryMethod, parse_settings
from vmha.demo.servers import Placement
from vmha.journal import TERMINAL, StepStatus, utc_now
from vmha.journal.schema import ClaimRow, ReplicaRow, StepRunRow

REPLICAS = ("vmha-replica-a", "vmha-replica-b")
"""The replicas' host names, each in its UTS namespace."""
KILL_AFTER = 4.0
"""Seconds after the host's kill that a replica is killed (not before an evacuation began)."""
EVACUATION_WAIT = 120.0
"""Longest wait for the first evacuation before the kill."""
BASELINE, KILLED = "replicas", "replica killed"
"""Labels of the scenarios without and with the kill: ``host auto 10 replica killed redfish``."""
POWER_REQUEST = "ComputerSystem.Reset"
_URL = re.compile(r'"message": "http endpoint listening", "url": "([^"]+)"')

_DEFAULTS = parse_settings({}, {})
DEFAULT_SETTINGS = {
    "gateway": {name: getattr(_DEFAULTS.gateway, name) for name in (
        "poll_interval_seconds", "claim_ttl_seconds", "claim_grace_seconds", "sweep_interval_seconds")},
    "retry": {name: getattr(_DEFAULTS.retry, name) for name in ("initial_delay_seconds", "max_delay_seconds")},
}
"""vmha's defaults where ``Recoveries`` shortens them for tests."""


@dataclass(frozen=True)
class _Kill:
    replica: str
    owner: str
    at: float
    """Seconds after the host's kill."""
    held: int
    running: int


def run(layout: Layout, work: Path, method: RecoveryMethod, count: int, *, kill: bool,
        timeout: float = host_failure.TIMEOUT, parallel: int | None = None, kind: Kind | None = None) -> Run:
    """Fail a host holding ``count`` HA servers, recovered by two replicas, one SIGKILLed if ``kill``; see the
    module docstring."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = host_failure.plan(conn, method, host_failure.candidates(layout, kind))
        with journal_database(layout) as url:
            settings = {**DEFAULT_SETTINGS, "journal_url": url, "coordination_url": backend_url(layout, "etcd", "")}
            with host_failure.staged(conn, layout, work, chosen, parallel, settings=settings,
                                     gateways=replicas) as (recoveries, _):
                placed = host_failure.boot(conn, chosen.failed, count)
                with host_failure.restored(conn, layout, chosen.failed, placed):
                    return _fail(conn, layout, recoveries, method, placed, kill=kill, timeout=timeout, kind=kind)
    finally:
        conn.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


@contextlib.contextmanager
def journal_database(layout: Layout) -> Iterator[str]:
    """A MariaDB database of the run's own on the local cloud; its journal URL; dropped on the way out."""
    name = f"vmha_bench_{uuid.uuid4().hex[:8]}"
    infra.create_databases(layout, [name])
    try:
        yield f"{layout.db_url(name)}?charset=utf8mb4"
    finally:
        infra.mariadb_sql(layout, f"DROP DATABASE IF EXISTS {name};")


def replicas(recoveries: Recoveries) -> Sequence[subprocess.Popen[bytes]]:
    """One ``vmha gateway`` process per name of ``REPLICAS``, each in a UTS namespace with that host name."""
    return tuple(replica(recoveries, name) for name in REPLICAS)


def replica(recoveries: Recoveries, name: str) -> subprocess.Popen[bytes]:
    """A gateway of ``recoveries`` as ``Recoveries.start`` runs it, under the host name ``name`` (same process id:
    unshare and sh exec the gateway)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OS_CLIENT_CONFIG_FILE": str(recoveries.layout.clouds_yaml),
           "OS_CLOUD": "vmha-admin", "VMHA_SETTINGS_FILE": str(recoveries.settings_file)}
    command = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', name, VMHA, "gateway"]
    with (recoveries.logs / f"gateway-{len(recoveries.processes)}.log").open("ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    recoveries.processes.append(process)
    return process


def _fail(conn: Any, layout: Layout, recoveries: Recoveries, method: RecoveryMethod, placed: list[Placement], *,
          kill: bool, timeout: float, kind: Kind | None) -> Run:
    """Kill the servers' host, post the notification at once, kill a replica if ``kill``, time the recovery."""
    host = placed[0].host
    bmc_log = procs.logfile(layout, f"bmc-{host}")
    before = bmc_log.stat().st_size
    helpers.kill_host(layout, host)
    t0, started = utc_now(), time.monotonic()
    nid = recoveries.notify(host, HOST_DOWN)
    engine = sa.create_engine(recoveries.journal_url)
    try:
        killed = _kill(recoveries, engine, nid, started) if kill else None
        label = KILLED if kill else BASELINE
        measured = host_failure.outcome(conn, recoveries, method, placed, killed=(t0, started), nid=nid,
                                        timeout=timeout, kind=kind, labels=(label,))
        ended = _ended_by(engine, nid)
    finally:
        engine.dispose()
    with bmc_log.open("rb") as log:
        log.seek(before)
        power = log.read().decode(errors="replace").count(POWER_REQUEST)
    detail = recoveries.detail(nid)
    rto = measured.rto_seconds
    mark = Takeover(
        pair=measured.scenario.replace(f" {label}", ""), replicas=REPLICAS,
        killed=None if killed is None else killed.replica, killed_at=None if killed is None else killed.at,
        killed_held=0 if killed is None else killed.held, killed_running=0 if killed is None else killed.running,
        taken_over_at=None if killed is None else _taken_over_at(recoveries, killed.owner, t0),
        after_kill_seconds=None if killed is None or rto is None else rto - killed.at,
        evacuations=_evacuations(conn, placed), power_offs=power,
        fences=int(recoveries.journal.get_fence(nid, host) is not None), steps=ended,
        reruns=tuple(f"{step} {instance[:8]}".strip() for step, instance in replayed(detail)))
    return dataclasses.replace(measured, takeover=mark)


def _kill(recoveries: Recoveries, engine: sa.Engine, nid: str, started: float) -> _Kill:
    """SIGKILL (and reap) the busiest replica once ``KILL_AFTER`` s passed and an evacuation began."""
    while time.monotonic() < started + KILL_AFTER or not _evacuating(engine, nid):
        if time.monotonic() > started + EVACUATION_WAIT or recoveries.status(nid) in TERMINAL:
            raise BenchError(f"no evacuation began (within {EVACUATION_WAIT:.0f} s): nothing to kill a replica in; "
                             f"notification {recoveries.status(nid)}; {_complaints(recoveries)}")
        time.sleep(0.05)
    load = _load(engine)
    owner = max(load, key=lambda name: load[name])
    replica, pid = owner.split("/")[:2]
    process = next(process for process in recoveries.processes if process.pid == int(pid))
    process.kill()
    at = time.monotonic() - started
    process.wait()  # reaped, as systemd would
    _unsubscribe(recoveries, process)
    return _Kill(replica, owner, at, *load[owner])


def _unsubscribe(recoveries: Recoveries, process: subprocess.Popen[bytes]) -> None:
    """Delete the Zaqar subscriptions of the gateway ``process`` (its URL from its log)."""
    found = _URL.search(recoveries.log_of(process))
    if found is None:
        return
    for queue in (recoveries.queues["notifications"], recoveries.queues["steps"]):
        for subscription in list(recoveries.client.subscriptions(queue)):
            if subscription.subscriber.startswith(found.group(1) + "/"):
                subscription.delete()


def _complaints(recoveries: Recoveries, last: int = 5) -> str:
    """The last warnings and errors each replica logged."""
    found = []
    for process, name in zip(recoveries.processes, REPLICAS, strict=True):
        lines = [line for line in recoveries.log_of(process).splitlines()
                 if '"level": "warning"' in line or '"level": "error"' in line]
        state = "running" if process.poll() is None else f"exited {process.returncode}"
        found.append(f"{name} ({state}): " + (" | ".join(lines[-last:]) or "no warning or error"))
    return "; ".join(found)


def _evacuating(engine: sa.Engine, nid: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(sa.select(sa.func.count()).select_from(StepRunRow).where(
            StepRunRow.notification_id == nid, StepRunRow.step_id == "evacuate_instance")).scalar_one()
    return bool(found)


def _load(engine: sa.Engine) -> dict[str, tuple[int, int]]:
    """Each live replica's (claims held, steps running), from the journal."""
    with engine.connect() as connection:
        owners = connection.execute(sa.select(ReplicaRow.owner)).scalars().all()
        claims = dict(connection.execute(
            sa.select(ClaimRow.owner, sa.func.count()).group_by(ClaimRow.owner)).all())
        running = dict(connection.execute(sa.select(StepRunRow.owner, sa.func.count()).where(
            StepRunRow.status == StepStatus.IN_PROGRESS.value).group_by(StepRunRow.owner)).all())
    return {owner: (claims.get(owner, 0), running.get(owner, 0)) for owner in owners}


def _ended_by(engine: sa.Engine, nid: str) -> dict[str, dict[str, int]]:
    """Replica host name -> step -> runs of the notification it ended (each run's last owner)."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(StepRunRow.owner, StepRunRow.step_id).where(
            StepRunRow.notification_id == nid, StepRunRow.status != StepStatus.IN_PROGRESS.value)).all()
    counts = Counter((str(owner).split("/")[0], step) for owner, step in rows)
    found: dict[str, dict[str, int]] = {}
    for (replica, step), count in sorted(counts.items()):
        found.setdefault(replica, {})[step] = count
    return found


def _taken_over_at(recoveries: Recoveries, owner: str, t0: datetime) -> float | None:
    """Seconds after t0 when a survivor logged taking ``owner`` over (None: none did)."""
    for process in recoveries.processes:
        for line in recoveries.log_of(process).splitlines():
            if '"replica taken over"' in line:
                record = json.loads(line)
                if record.get("owner") == owner:
                    return (datetime.fromisoformat(record["at"]) - t0).total_seconds()
    return None


def _evacuations(conn: Any, placed: list[Placement]) -> dict[str, int]:
    """Server name -> Nova's evacuate actions on it."""
    return {server.name: sum(1 for action in conn.compute.server_actions(server.id) if action.action == "evacuate")
            for server in placed}
