"""Benchmark of vmha's recovery time (RTO) on the local cloud: host failure (issue 8 way (a)) and VM failure.

For each server count, recovery method (auto, reserved_host) and fencing path (``--fencing redfish,ipmi``:
the failed host chosen by its BMC's protocol, ``tests.bench.fencing``; ``selffence``: the BMC-less path, its
BMC silenced and its monitor cut off, ``tests.bench.self_fenced``, with ``--detected`` only; default: the
last free host, whatever its BMC), ``--iterations`` times: boot the HA servers on one fake host, SIGKILL the
host and post the COMPUTE_HOST notification at that instant (``--detected``: vmha's host monitors report it),
and time until every server is ACTIVE on another host (``tests.bench.host_failure``). Prints each run's
breakdown per step from the journal, the fence the journal recorded, its phases (detection, fence, evacuation:
``tests.bench.timeline.Phases``), the pipeline overhead between steps (p50/p99), and a summary with medians
against issue 8's targets and Masakari's figures as ratios; ``--json`` writes it all. Then
``--vm-iterations`` VM failures (``tests.bench.vm_failure``: notification -> the server ACTIVE again).
``--kill-replica`` (issue 15 item 1): each iteration is two runs with two gateway replicas on a MariaDB journal,
first without a kill, then with one replica SIGKILLed mid-recovery (``tests.bench.replica_kill``), fenced through
Redfish; the table compares each killed run with the median of the runs without (``tests.bench.takeover``).
Before each server count's host scenarios, ``--iterations`` times its floor (issue 20, ``tests.bench.floor``):
Nova alone, every evacuation requested at once; each host scenario's median is printed as a ratio to it
(``--no-floor``: not measured). ``--locked-floor``: beside each floor run, the same with every server locked
first and unlocked once recovered (``tests.bench.floor.LOCKED``: the least a service that locks as Masakari
does must add), each host scenario's median also printed as a ratio to it, without a target. The summary also
gives the gateway's CPU seconds per recovered server.
First of all, unmeasured, one floor run of the smallest server count warms the cloud up (``--no-warm-up``: none):
the first recovery after the cloud starts is seconds slower than the next ones, whoever makes it.
``--hypervisor kvm``: the host and VM scenarios on the kvm profile's hosts (``tests.bench.hypervisor``), real
QEMU guests evacuated from one kvm host to the other, a VM failure being its guest's QEMU SIGKILLed; each host
run also gives the CPU seconds of the recovered guests' QEMU processes. Way (a) only, no floor (Nova alone
would not fence: the failed host's guests would run beside their rebuilt copies on the shared disks).
Run: `.venv/bin/python -m tests.bench.recovery [--servers 10,50] [--iterations 1] [--methods auto,reserved_host]
[--detected] [--fencing redfish,ipmi,selffence] [--kill-replica] [--no-floor] [--locked-floor] [--no-warm-up]
[--vm-iterations 5]
[--hypervisor fake|kvm] [--json FILE]`. The local cloud must be up (`python -m tests.cloud up`, with
``--hypervisor kvm`` for the kvm hosts).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.bench import fencing, floor, host_failure, replica_kill, report, self_fenced, takeover, timeline, vm_failure
from tests.bench.detected import run as detected_run
from tests.bench.fencing import Kind
from tests.bench.host_failure import Run
from tests.bench.hypervisor import FAKE, HYPERVISORS, Hypervisor
from tests.cloud import guest, kvm_hosts
from tests.cloud.layout import Layout
from tests.self_fence_support import LEASE_SECONDS
from vmha.contracts import RecoveryMethod
from vmha.journal import utc_now
from vmha.self_fence import MARGIN_SECONDS


@dataclasses.dataclass(frozen=True)
class Results:
    """Everything one benchmark run measured."""

    runs: tuple[Run, ...]
    summaries: tuple[report.Summary, ...]
    hops: tuple[report.Hops, ...]
    """Each scenario's step hops, in the order the scenarios ran."""


def measure(layout: Layout, counts: Sequence[int], methods: Sequence[RecoveryMethod], iterations: int,
            out: Any = sys.stdout, *, vm_iterations: int = 0, detected: bool = False,
            parallel: int | None = None, kinds: Sequence[Kind | None] = (None,), kill_replica: bool = False,
            with_floor: bool = True, locked_floor: bool = False, warm_up: bool = False,
            hypervisor: Hypervisor = FAKE) -> Results:
    """Run every host scenario ``iterations`` times and the VM one ``vm_iterations`` times, printing each
    run's breakdown as it ends; ``detected``: host failures end to end (way (b), ``tests.bench.detected``);
    ``parallel``: the gateway's host_failure.max_parallel_evacuations (None: vmha's default); ``kinds``: the
    fencing paths, each a scenario of its own (None: the last free host's); ``kill_replica``: each iteration
    two runs by two replicas, without and with one killed (``tests.bench.replica_kill``); ``with_floor``:
    each server count's floor (``tests.bench.floor``), ``iterations`` times, its runs between vmha's first
    combination's runs for that count, first and second in turn (a cold or warm cloud favours neither);
    ``locked_floor``: with each floor run, the locked floor's (``tests.bench.floor.LOCKED``); ``warm_up``: one
    unmeasured floor run of the smallest count first (the fake hypervisor's hosts only);
    ``hypervisor``: which hosts and guests (``tests.bench.hypervisor``)."""
    if warm_up and hypervisor is FAKE:
        _floor(layout, min(counts), None, out)
    runs: list[Run] = []
    summaries = []
    if vm_iterations:
        vm = [_vm(layout, n, out, hypervisor) for n in range(1, vm_iterations + 1)]
        runs += vm
        summaries.append(report.summarize(vm[0].scenario, [run.rto_seconds for run in vm],
                                          report.VM_TARGET, report.MASAKARI_VM))
    plain = not detected and not kill_replica
    kills: tuple[bool | None, ...] = (False, True) if kill_replica else (None,)
    floors: dict[int, report.Summary] = {}
    locked_floors: dict[int, report.Summary] = {}
    floor_kinds = (False, True) if locked_floor else (False,)
    for count, method, kind in itertools.product(counts, methods, kinds):
        below: list[Run] = []
        mine: list[Run] = []
        floored = with_floor and count not in floors
        for n in range(1, iterations + 1):
            if floored and n % 2 == 1:
                below += [_floor(layout, count, n, out, locked=locked) for locked in floor_kinds]
            mine += [_one(layout, method, count, n, out, detected=detected, parallel=parallel, kind=kind, kill=kill,
                          hypervisor=hypervisor) for kill in kills]
            if floored and n % 2 == 0:
                below += [_floor(layout, count, n, out, locked=locked) for locked in floor_kinds]
        if below:
            runs += below
            floors[count] = _summary_of(below, f"{floor.SCENARIO} {count}")
            summaries.append(floors[count])
            if locked_floor:
                locked_floors[count] = _summary_of(below, f"{floor.LOCKED} {count}")
                summaries.append(locked_floors[count])
        runs += mine
        for scenario in dict.fromkeys(run.scenario for run in mine):
            ran = [run for run in mine if run.scenario == scenario]
            summaries.append(report.summarize(scenario, [run.rto_seconds for run in ran],
                                              report.HOST_TARGETS.get(count) if plain else None,
                                              report.MASAKARI_HOST.get(count, {}) if plain else {},
                                              floor=floors.get(count),
                                              floor_target=report.FLOOR_TARGETS.get(count) if plain else None,
                                              locked_floor=locked_floors.get(count),
                                              cpu_per_server=[run.cpu_per_server for run in ran],
                                              cloud_cpu=[run.cloud_cpu for run in ran]))
    return Results(tuple(runs), tuple(summaries), scenario_hops(runs))


def _summary_of(floors: Sequence[Run], scenario: str) -> report.Summary:
    """The summary of the floor runs of ``scenario``."""
    ran = [run for run in floors if run.scenario == scenario]
    return report.summarize(scenario, [run.rto_seconds for run in ran], None, {},
                            cloud_cpu=[run.cloud_cpu for run in ran])


def scenario_hops(runs: Sequence[Run]) -> tuple[report.Hops, ...]:
    """Each scenario's step hops (every run of it together) and its target."""
    scenarios = {run.scenario: run.servers for run in runs}
    return tuple(report.Hops(scenario, tuple(hop for run in runs if run.scenario == scenario for hop in run.hops),
                             report.hop_target(scenario, servers)) for scenario, servers in scenarios.items())


def _one(layout: Layout, method: RecoveryMethod, count: int, iteration: int, out: Any, *, detected: bool,
         parallel: int | None, kind: Kind | None, kill: bool | None, hypervisor: Hypervisor) -> Run:
    """One host failure; ``kill`` not None: by two replicas, one killed if True."""
    runner = self_fenced.run if kind is not None and kind.lease else detected_run if detected else host_failure.run
    with tempfile.TemporaryDirectory(prefix="vmha-bench-") as work:
        if hypervisor is not FAKE:  # main() allows way (a) alone there
            run = host_failure.run(layout, Path(work), method, count, parallel=parallel, hypervisor=hypervisor)
        elif kill is None:
            run = runner(layout, Path(work), method, count, parallel=parallel, kind=kind)
        else:
            run = replica_kill.run(layout, Path(work), method, count, kill=kill, parallel=parallel, kind=kind)
    print_run(run, f"{run.scenario} on {run.host}, iteration {iteration}", out)
    return run


def _floor(layout: Layout, count: int, iteration: int | None, out: Any, *, locked: bool = False) -> Run:
    """One floor run (``iteration`` None: the warm-up, not counted; ``locked``: the locked floor)."""
    with tempfile.TemporaryDirectory(prefix="vmha-bench-") as work:
        run = floor.run(layout, Path(work), count, locked=locked)
    which = f"iteration {iteration}" if iteration else "warm-up, not counted"
    print_run(run, f"{run.scenario} (Nova alone) on {run.host}, {which}", out)
    return run


def _vm(layout: Layout, iteration: int, out: Any, hypervisor: Hypervisor) -> Run:
    with tempfile.TemporaryDirectory(prefix="vmha-bench-") as work:
        run = vm_failure.run(layout, Path(work), hypervisor=hypervisor)
    print_run(run, f"VM failure on {run.host}, iteration {iteration}", out)
    return run


def print_run(run: Run, title: str, out: Any) -> None:
    rto = "NOT RECOVERED" if run.rto_seconds is None else f"{run.rto_seconds:.2f} s"
    print(f"\n{title}: RTO {rto}; {run.recovered}/{run.servers} recovered; verdict: {run.verdict}",
          file=out)
    if run.fenced is not None:
        print(run.fenced.line(), file=out)
    if run.gateway_cpu_seconds is not None:
        per = "-" if run.cpu_per_server is None else f"{run.cpu_per_server:.3f} s"
        print(f"gateway CPU: {run.gateway_cpu_seconds:.2f} s, {per} per recovered server", file=out)
    if run.cloud_cpu is not None:
        print(f"cloud CPU from the kill to the end: {run.cloud_cpu.control_plane:.1f} s, of it Nova "
              f"{run.cloud_cpu.nova:.1f} s; most: {run.cloud_cpu.top(5)}", file=out)
    if run.guest_cpu_seconds is not None:
        print(f"recovered guests' QEMU CPU: {run.guest_cpu_seconds:.2f} s from their start to the notification's end",
              file=out)
    if run.phases is not None:
        print(report.phase_line(run.phases), file=out)
    print("\n".join(report.span_lines(run.spans)), file=out)
    if run.nova:
        print("\n".join(report.span_lines(run.nova)), file=out)
    if run.takeover is not None:
        print("\n".join(takeover.run_lines(run.takeover)), file=out)
    out.flush()


def print_results(results: Results, out: Any = sys.stdout) -> None:
    """The summary table, the pipeline overhead, and where the time went where a target was missed."""
    print("\n" + "\n".join(report.summary_lines(results.summaries)), file=out)
    if phases := _phases(results.runs):
        print("\n" + "\n".join(report.phase_summary_lines(phases)), file=out)
    print("\n".join(report.hop_lines(results.hops)), file=out)
    if killed := takeover.rows(results.runs):
        print("\nreplica killed mid-recovery, against the runs without a kill:", file=out)
        print("\n".join(takeover.table_lines(killed)), file=out)
    for summary in results.summaries:
        if summary.missed:
            print(f"{summary.scenario}: target missed; {_where(results.runs, summary.scenario)}", file=out)
    print(file=out, flush=True)


def _phases(runs: Sequence[Run]) -> dict[str, list[timeline.Phases]]:
    """Each host scenario's runs' phases, in the order the scenarios ran."""
    found: dict[str, list[timeline.Phases]] = {}
    for run in runs:
        if run.phases is not None:
            found.setdefault(run.scenario, []).append(run.phases)
    return found


def _where(runs: Sequence[Run], scenario: str) -> str:
    """The steps that took longest in the slowest run of the scenario."""
    mine = [run for run in runs if run.scenario == scenario]
    slowest = max(mine, key=lambda run: run.rto_seconds or float("inf"))
    steps = sorted(slowest.spans, key=lambda span: span.seconds, reverse=True)[:3]
    calls = sorted(slowest.nova, key=lambda span: span.seconds, reverse=True)[:3]
    nova = ("; in Nova to " + ", ".join(f"{span.step} {span.seconds:.1f} s" for span in calls)) if calls else ""
    return "the time went to " + ", ".join(f"{span.step} {span.seconds:.1f} s" for span in steps) + nova


def document(results: Results, arguments: dict[str, Any]) -> dict[str, Any]:
    """The JSON record of a benchmark run, with the machine and the date."""
    summaries = [{**dataclasses.asdict(item), "ratios": item.ratios, "floor_ratio": item.floor_ratio,
                  "locked_floor_ratio": item.locked_floor_ratio, "missed": item.missed}
                 for item in results.summaries]
    return {
        "benchmark": "vmha recovery time, way " + ("(b): detected by vmha's host monitor" if arguments.get("detected")
                                                    else "(a): the notification posted at the failure"),
        "date": utc_now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "memory_gib": _memory_gib(), "python": platform.python_version(),
                    "system": platform.platform(), "load_average_at_end": os.getloadavg()},
        "arguments": arguments,
        "summaries": summaries,
        "phase_medians_seconds": {scenario: report.phase_medians(phases)
                                  for scenario, phases in _phases(results.runs).items()},
        "pipeline_overhead_seconds": {item.scenario: {"hops": len(item.seconds), "p50": item.p50, "p99": item.p99,
                                                      "target_p99": item.target, "met": item.met}
                                      for item in results.hops if item.seconds},
        "replica_kill": takeover.document(takeover.rows(results.runs)),
        "runs": [dataclasses.asdict(run) for run in results.runs],
    }


def _redfish_only(kinds: Sequence[Kind | None], detected: bool) -> list[Kind | None]:
    """--kill-replica's fencing: Redfish (its BMC's power requests are counted), way (a); ValueError otherwise."""
    redfish = fencing.KINDS["redfish"]
    if detected or any(kind not in (None, redfish) for kind in kinds):
        raise ValueError("--kill-replica measures way (a) fenced through Redfish: no --detected, --fencing redfish")
    return [redfish]


def domain_type() -> str | None:
    """The kvm hosts' libvirt domain type (kvm, or qemu: TCG where /dev/kvm is not usable), None without them."""
    layout = Layout.from_env()
    return guest.accelerator(layout, guest.build(layout)) if kvm_hosts.enabled(layout) else None


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.recovery", description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="10,50", help="comma-separated server counts (default 10,50)")
    parser.add_argument("--methods", default="auto,reserved_host", help="comma-separated recovery methods")
    parser.add_argument("--iterations", type=int, default=1, help="runs of each scenario (default 1)")
    parser.add_argument("--vm-iterations", type=int, default=5, help="VM failure runs (default 5; 0: none)")
    parser.add_argument("--detected", action="store_true",
                        help="host failures end to end, detected by vmha's host monitor (way (b))")
    parser.add_argument("--fencing", help=f"comma-separated fencing paths to measure, each a scenario: "
                        f"{', '.join(fencing.KINDS)} (the failed host chosen by its BMC; default: the last free host)")
    parser.add_argument("--kill-replica", action="store_true",
                        help="two gateway replicas; each iteration runs without, then with one SIGKILLed mid-recovery "
                        "(fencing through Redfish)")
    parser.add_argument("--no-floor", action="store_true",
                        help="do not measure Nova's floor (every evacuation requested at once, no HA service)")
    parser.add_argument("--locked-floor", action="store_true",
                        help="beside each floor run, the same with every server locked first, unlocked once recovered")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="no unmeasured floor run first (the cloud's first recovery after it starts is slower)")
    parser.add_argument("--parallel", type=int, help="host_failure.max_parallel_evacuations (default: vmha's)")
    parser.add_argument("--hypervisor", choices=tuple(HYPERVISORS), default=FAKE.name,
                        help="kvm: the kvm profile's hosts and real QEMU guests, way (a), no floor (default fake)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    options = parser.parse_args(argv)
    try:
        counts = [int(item) for item in options.servers.split(",")]
        methods = [RecoveryMethod(item) for item in options.methods.split(",")]
        kinds: list[Kind | None] = [None] if options.fencing is None else list(fencing.parse(options.fencing))
        if options.kill_replica:
            kinds = _redfish_only(kinds, options.detected)
    except ValueError as error:
        parser.error(str(error))
    if options.iterations < 1 or min(counts) < 1 or options.vm_iterations < 0:
        parser.error("--iterations and every --servers count must be at least 1, --vm-iterations at least 0")
    hypervisor = HYPERVISORS[options.hypervisor]
    if hypervisor is not FAKE and (options.detected or options.fencing or options.kill_replica):
        parser.error("--hypervisor kvm measures way (a) alone: no --detected, --fencing or --kill-replica")
    leases = any(kind is not None and kind.lease for kind in kinds)
    if leases and not options.detected:
        parser.error("--fencing selffence needs --detected: the host's own monitor holds the lease")
    if hypervisor is not FAKE:
        print(f"kvm hosts: libvirt domain type {domain_type()} (qemu: TCG, software emulation, no usable KVM)")
    if leases:
        print(f"self-fence lease: vmha:self_fence_seconds {LEASE_SECONDS} s, survivors wait it + {MARGIN_SECONDS} s")
    results = measure(Layout.from_env(), counts, methods, options.iterations, vm_iterations=options.vm_iterations,
                      detected=options.detected, parallel=options.parallel, kinds=kinds,
                      kill_replica=options.kill_replica, with_floor=not options.no_floor and hypervisor is FAKE,
                      locked_floor=options.locked_floor, warm_up=not options.no_warm_up, hypervisor=hypervisor)
    print_results(results)
    if options.json:
        arguments = {"servers": counts, "methods": [item.value for item in methods], "iterations": options.iterations,
                     "vm_iterations": options.vm_iterations, "detected": options.detected,
                     "parallel": options.parallel, "fencing": fencing.names(kinds),
                     "kill_replica": options.kill_replica, "floor": not options.no_floor and hypervisor is FAKE,
                     "locked_floor": options.locked_floor and not options.no_floor and hypervisor is FAKE,
                     "warm_up": not options.no_warm_up and hypervisor is FAKE,
                     "hypervisor": hypervisor.name, "domain_type": domain_type(),
                     "self_fence_seconds": LEASE_SECONDS if leases else None}
        options.json.write_text(json.dumps(document(results, arguments), indent=2) + "\n")
    return 0 if all(run.rto_seconds is not None for run in results.runs) else 1


if __name__ == "__main__":
    sys.exit(main())
