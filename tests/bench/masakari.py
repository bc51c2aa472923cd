"""vmha and Masakari 22 side by side on the same local cloud, the same failures, the same clock (issue 8).

Installs Masakari into its own virtualenv the first time (``tests.bench.masakari_service``), then for each
set of Masakari options (``defaults``, ``tuned``) restarts masakari-api and masakari-engine with them and
runs every scenario (``tests.bench.masakari_runs``): host failure with N servers per recovery method, way
(a) (the notification posted the instant the host is killed), and the VM failure. Then vmha's own runs of
the same scenarios (``tests.bench.recovery``). Prints each run's breakdown, then the medians and the
ratios (Masakari's median / vmha's: how many times faster vmha is) as a table; ``--json`` writes it all.
Run: `.venv/bin/python -m tests.bench.masakari [--servers 10] [--methods auto] [--iterations 1]
[--vm-iterations 3] [--options defaults,tuned] [--json FILE]` (or `tools/bench-masakari`), the local
cloud up. Masakari is stopped at the end; its virtualenv stays for the next run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.bench import masakari_runs, masakari_service, recovery, report, vm_failure
from tests.bench.host_failure import Run
from tests.cloud.layout import Layout
from vmha.console import table
from vmha.contracts import RecoveryMethod

OPTIONS = {"defaults": masakari_service.DEFAULTS, "tuned": masakari_service.TUNED}


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One failure to measure ``runs`` times: ``vm`` or a host failure with a recovery method and a server
    count."""

    method: RecoveryMethod | None
    servers: int
    runs: int

    @property
    def name(self) -> str:
        return vm_failure.SCENARIO if self.method is None else f"host {self.method.value} {self.servers}"


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Medians of one scenario: vmha's and Masakari's by options, and vmha's speed-up over each."""

    scenario: str
    vmha: float | None
    masakari: dict[str, float | None]

    @property
    def ratios(self) -> dict[str, float]:
        return {options: seconds / self.vmha for options, seconds in self.masakari.items()
                if seconds is not None and self.vmha}


def scenarios(counts: Sequence[int], methods: Sequence[RecoveryMethod], iterations: int,
              vm_iterations: int) -> list[Scenario]:
    found = [Scenario(None, 1, vm_iterations)] if vm_iterations else []
    return found + [Scenario(method, count, iterations) for count in counts for method in methods]


def measure_masakari(layout: Layout, plan: Sequence[Scenario], options: Sequence[str],
                     out: Any = sys.stdout) -> dict[str, list[Run]]:
    """Every scenario under each set of Masakari options; Masakari stopped and out of the catalog afterwards."""
    masakari_service.ready(layout)
    runs: dict[str, list[Run]] = {}
    try:
        for name in options:
            masakari_service.start(layout, OPTIONS[name])
            print(f"\nMasakari {masakari_service.VERSION}, {name}: {dict(OPTIONS[name]) or 'its defaults'}",
                  file=out, flush=True)
            runs[name] = [_masakari_run(layout, item, n, name, out) for item in plan
                          for n in range(1, item.runs + 1)]
    finally:
        masakari_service.stop(layout)
        masakari_service.unregister(layout)
    return runs


def _masakari_run(layout: Layout, item: Scenario, iteration: int, options: str, out: Any) -> Run:
    if item.method is None:
        run = masakari_runs.vm_run(layout)
    else:
        run = masakari_runs.host_run(layout, item.method, item.servers)
    recovery.print_run(run, f"Masakari {options}: {item.name} on {run.host}, iteration {iteration}", out)
    return run


def compare(plan: Sequence[Scenario], vmha: Sequence[Run], masakari: dict[str, list[Run]]) -> list[Comparison]:
    def median(runs: Sequence[Run], scenario: str) -> float | None:
        mine = [run.rto_seconds for run in runs if run.scenario == scenario]
        done = [rto for rto in mine if rto is not None]
        return statistics.median(done) if done and len(done) == len(mine) else None

    return [Comparison(item.name, median(vmha, item.name),
                       {options: median(runs, item.name) for options, runs in masakari.items()})
            for item in plan]


def comparison_lines(comparisons: Sequence[Comparison], options: Sequence[str]) -> list[str]:
    """The side-by-side table: medians, then vmha's speed-up over each set of Masakari options."""
    def seconds(value: float | None) -> str:
        return "not recovered" if value is None else f"{value:.1f} s"

    rows = [(item.scenario, seconds(item.vmha), *(seconds(item.masakari.get(name)) for name in options),
             *(f"{item.ratios[name]:.1f}x" if name in item.ratios else "-" for name in options))
            for item in comparisons]
    return table(("SCENARIO", "VMHA", *(f"MASAKARI {name.upper()}" for name in options),
                  *(f"VS {name.upper()}" for name in options)), rows)


def document(comparisons: Sequence[Comparison], vmha: recovery.Results, masakari: dict[str, list[Run]],
             arguments: dict[str, Any]) -> dict[str, Any]:
    """The JSON record: the machine and date, the comparisons, and every run of both."""
    record = recovery.document(vmha, arguments)
    record["benchmark"] = "vmha and Masakari 22 on the same cloud, way (a): the notification posted at the failure"
    record["masakari"] = {"version": masakari_service.VERSION,
                          "options": {name: dict(OPTIONS[name]) for name in masakari},
                          "runs": {name: [dataclasses.asdict(run) for run in runs] for name, runs in masakari.items()}}
    record["comparisons"] = [{**dataclasses.asdict(item), "ratios": item.ratios} for item in comparisons]
    return record


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.masakari", description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="10", help="comma-separated server counts (default 10)")
    parser.add_argument("--methods", default="auto", help="comma-separated recovery methods (default auto)")
    parser.add_argument("--iterations", type=int, default=1, help="runs of each host scenario (default 1)")
    parser.add_argument("--vm-iterations", type=int, default=3, help="VM failure runs (default 3; 0: none)")
    parser.add_argument("--options", default="defaults,tuned", help="Masakari option sets: defaults, tuned")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    options = parser.parse_args(argv)
    try:
        options.servers = [int(item) for item in options.servers.split(",")]
        options.methods = [RecoveryMethod(item) for item in options.methods.split(",")]
    except ValueError as error:
        parser.error(str(error))
    options.options = options.options.split(",")
    if set(options.options) - set(OPTIONS) or options.iterations < 1 or options.vm_iterations < 0:
        parser.error(f"--options among {sorted(OPTIONS)}, --iterations >= 1, --vm-iterations >= 0")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_arguments(argv)
    layout = Layout.from_env()
    plan = scenarios(options.servers, options.methods, options.iterations, options.vm_iterations)
    masakari = measure_masakari(layout, plan, options.options)
    print("\nvmha on the same cloud", flush=True)
    vmha = recovery.measure(layout, options.servers, options.methods, options.iterations,
                        vm_iterations=options.vm_iterations)
    comparisons = compare(plan, vmha.runs, masakari)
    print("\n" + "\n".join(report.hop_lines(vmha.hops)))
    print("\n" + "\n".join(comparison_lines(comparisons, options.options)) + "\n", flush=True)
    if options.json:
        arguments = {"servers": options.servers, "methods": [item.value for item in options.methods],
                     "iterations": options.iterations, "vm_iterations": options.vm_iterations,
                     "options": options.options}
        options.json.write_text(json.dumps(document(comparisons, vmha, masakari, arguments), indent=2) + "\n")
    runs = list(vmha.runs) + [run for mine in masakari.values() for run in mine]
    return 0 if all(run.rto_seconds is not None for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
