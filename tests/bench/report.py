"""Figures of the recovery benchmark against issue 8's targets and Masakari's published figures.

Masakari 22 on this same local cloud (issue 8; t0 = nova-compute killed, notification posted at once):
host failure 268 s with its defaults and 84 s tuned for 10 servers, 173 s tuned for 50; VM failure 4.3 s
with its defaults and 2.2 s tuned. Ratios are Masakari's time divided by vmha's (how many times faster).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.bench.cloud_cpu import CloudCpu
from tests.bench.timeline import Phases, Span
from vmha.console import table

MASAKARI_HOST = {10: {"defaults": 268.0, "tuned": 84.0}, 50: {"tuned": 173.0}}
"""Seconds from host failure to every server ACTIVE elsewhere, by server count and options."""
MASAKARI_VM = {"defaults": 4.3, "tuned": 2.2}
HOST_TARGETS = {10: 12.0, 50: 25.0}
"""Issue 8's way (a) targets, seconds."""
VM_TARGET = 1.0
HOP_P99_TARGET = 0.020
"""Issue 8's pipeline overhead target, any scenario."""
HOST_HOP_P99_TARGETS = {10: 0.050, 50: 0.150}
"""Issue 20's for host recoveries, by server count (their fan-outs share the workers)."""
SPEEDUP_TARGETS = {"defaults": 20.0, "tuned": 5.0}
VM_SPEEDUP_TARGET = 2.0
FLOOR_TARGETS = {10: 1.15, 50: 1.15, 200: 1.25}
"""Issue 20: a host recovery's median over the floor's (Nova alone, ``tests.bench.floor``) at most this, by
server count."""


@dataclass(frozen=True)
class Summary:
    """The median of several runs of one scenario and how it compares."""

    scenario: str
    runs: int
    recovered_runs: int
    median_seconds: float | None
    target_seconds: float | None
    masakari: dict[str, float]
    """Masakari's figure for the same scenario, by options (defaults, tuned)."""
    floor_seconds: float | None = None
    """The median of Nova's floor for the same server count in the same benchmark run, if measured."""
    floor_target: float | None = None
    """The most ``floor_ratio`` may be (``FLOOR_TARGETS``)."""
    cpu_per_server: float | None = None
    """The median of the gateway's CPU seconds per recovered server."""
    cloud_cpu_seconds: float | None = None
    """The median of what the cloud's own processes spent from the kill to the end (``tests.bench.cloud_cpu``)."""
    nova_cpu_seconds: float | None = None
    """The same of Nova's services alone."""
    locked_floor_seconds: float | None = None
    """The median of the locked floor (each server locked first, ``tests.bench.floor.LOCKED``), if measured."""

    @property
    def floor_ratio(self) -> float | None:
        """How many times the floor's time this scenario took."""
        return self._over(self.floor_seconds)

    @property
    def locked_floor_ratio(self) -> float | None:
        """How many times the locked floor's time this scenario took (no target: figures for the issue)."""
        return self._over(self.locked_floor_seconds)

    def _over(self, seconds: float | None) -> float | None:
        return None if not seconds or self.median_seconds is None else self.median_seconds / seconds

    @property
    def ratios(self) -> dict[str, float]:
        """How many times faster than Masakari, by options."""
        if not self.median_seconds:
            return {}
        return {options: seconds / self.median_seconds for options, seconds in self.masakari.items()}

    @property
    def missed(self) -> bool:
        """Whether a run failed or the median is over the target."""
        over = self.target_seconds is not None and (self.median_seconds or math.inf) > self.target_seconds
        above_floor = self.floor_target is not None and (self.floor_ratio or math.inf) > self.floor_target
        return over or above_floor or self.recovered_runs < self.runs


def summarize(scenario: str, rtos: Sequence[float | None], target: float | None,
              masakari: dict[str, float], *, floor: Summary | None = None, floor_target: float | None = None,
              locked_floor: Summary | None = None, cpu_per_server: Sequence[float | None] = (),
              cloud_cpu: Sequence[CloudCpu | None] = ()) -> Summary:
    """Summary of the runs of one scenario; a run whose servers were not all recovered has RTO None. ``floor``:
    the floor's summary for the same server count, ``floor_target`` the most the ratio to it may be;
    ``locked_floor``: the locked floor's; ``cpu_per_server``: each run's gateway CPU seconds per recovered
    server; ``cloud_cpu``: what each run cost the cloud's own processes."""
    done = [rto for rto in rtos if rto is not None]
    median = statistics.median(done) if done else None
    return Summary(scenario, len(rtos), len(done), median, target, masakari,
                   None if floor is None else floor.median_seconds, floor_target if floor is not None else None,
                   _median(cpu_per_server), _median([None if cpu is None else cpu.control_plane for cpu in cloud_cpu]),
                   _median([None if cpu is None else cpu.nova for cpu in cloud_cpu]),
                   None if locked_floor is None else locked_floor.median_seconds)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary_lines(summaries: Sequence[Summary]) -> list[str]:
    rows = [(item.scenario, f"{item.recovered_runs}/{item.runs}", _seconds(item.median_seconds),
             _seconds(item.target_seconds), _floor(item), _locked_floor(item), _cpu(item.cpu_per_server),
             _cloud(item), _versus(item, "defaults"), _versus(item, "tuned"), "MISSED" if item.missed else "met")
            for item in summaries]
    return table(("SCENARIO", "RECOVERED", "MEDIAN RTO", "TARGET", "VS FLOOR", "VS LOCKED FLOOR",
                  "GATEWAY CPU/SERVER", "CLOUD CPU (NOVA)", "VS MASAKARI DEFAULTS", "VS MASAKARI TUNED", "VERDICT"),
                 rows)


def span_lines(spans: Sequence[Span]) -> list[str]:
    """Where one recovery's time went: each step's window after t0 and its length, the longest marked."""
    longest = max((span.seconds for span in spans), default=0.0)
    rows = [(span.step, f"{span.start:.2f}", f"{span.end:.2f}", f"{span.seconds:.2f}", str(span.runs),
             str(span.attempts), "<- longest" if span.seconds == longest else "")
            for span in spans]
    return table(("STEP", "START S", "END S", "SECONDS", "RUNS", "ATTEMPTS", ""), rows)


PHASES = tuple(field.name for field in dataclasses.fields(Phases))
"""detection, fence, evacuation."""


def phase_line(phases: Phases) -> str:
    """One recovery's phases."""
    return "phases: " + ", ".join(f"{name} {_seconds(getattr(phases, name), 2)}" for name in PHASES)


def phase_medians(runs: Sequence[Phases]) -> dict[str, float | None]:
    """Each phase's median over ``runs`` (runs without it left out; None when none has it)."""
    return {name: _median([getattr(item, name) for item in runs]) for name in PHASES}


def phase_summary_lines(scenarios: Mapping[str, Sequence[Phases]]) -> list[str]:
    """Each scenario's phases: the median, every run in brackets."""
    rows = []
    for scenario, runs in scenarios.items():
        medians = phase_medians(runs)
        rows.append((scenario, *(f"{_seconds(medians[name])} ({_each([getattr(item, name) for item in runs])})"
                                 for name in PHASES)))
    return table(("SCENARIO", *(name.upper() for name in PHASES)), rows)


@dataclass(frozen=True)
class Hops:
    """The step hops of one scenario's runs (seconds) and the most their p99 may be (None: no target)."""

    scenario: str
    seconds: tuple[float, ...]
    target: float | None

    @property
    def p50(self) -> float | None:
        return percentile(self.seconds, 0.5) if self.seconds else None

    @property
    def p99(self) -> float | None:
        return percentile(self.seconds, 0.99) if self.seconds else None

    @property
    def met(self) -> bool | None:
        """Whether p99 is within the target (None: no target or no hop)."""
        p99 = self.p99
        return None if self.target is None or p99 is None else p99 <= self.target


def hop_target(scenario: str, servers: int) -> float | None:
    """A scenario's hop target: issue 20's for a host recovery of 10 or 50 servers, else issue 8's."""
    return HOST_HOP_P99_TARGETS.get(servers) if scenario.startswith("host ") else HOP_P99_TARGET


def hop_lines(scenarios: Sequence[Hops]) -> list[str]:
    """Pipeline overhead per scenario: the time between a step's end and the next step's start (gateway +
    Zaqar), with its target."""
    found = [item for item in scenarios if item.seconds]
    if not found:
        return ["pipeline overhead: no step hops recorded"]
    rows = [(item.scenario, str(len(item.seconds)), _ms(item.p50), _ms(item.p99), _ms(max(item.seconds)),
             _ms(item.target), {None: "-", True: "met", False: "MISSED"}[item.met]) for item in found]
    return ["pipeline overhead per step hop:",
            *table(("SCENARIO", "HOPS", "P50", "P99", "MAX", "TARGET P99", "VERDICT"), rows)]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _seconds(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f} s"


def _each(values: Sequence[float | None]) -> str:
    return ", ".join("-" if value is None else f"{value:.2f}" for value in values)


def _median(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def _floor(item: Summary) -> str:
    """``1.32x of 6.0 s (MISSED 1.15x)``: the scenario's time over the floor's."""
    return _versus_floor(item.floor_ratio, item.floor_seconds, item.floor_target)


def _locked_floor(item: Summary) -> str:
    """``1.12x of 7.1 s``: the scenario's time over the locked floor's."""
    return _versus_floor(item.locked_floor_ratio, item.locked_floor_seconds, None)


def _versus_floor(ratio: float | None, seconds: float | None, target: float | None) -> str:
    if ratio is None or seconds is None:
        return "-"
    goal = "" if target is None else f" ({'met' if ratio <= target else 'MISSED'} {target:.2f}x)"
    return f"{ratio:.2f}x of {seconds:.1f} s{goal}"


def _cpu(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f} s"


def _cloud(item: Summary) -> str:
    if item.cloud_cpu_seconds is None or item.nova_cpu_seconds is None:
        return "-"
    return f"{item.cloud_cpu_seconds:.1f} s ({item.nova_cpu_seconds:.1f})"


def _versus(item: Summary, options: str) -> str:
    ratio = item.ratios.get(options)
    if ratio is None:
        return "-"
    goal = (VM_SPEEDUP_TARGET if item.scenario.startswith("vm") else SPEEDUP_TARGETS[options])
    return f"{ratio:.1f}x of {item.masakari[options]:g} s ({'met' if ratio >= goal else 'MISSED'} {goal:.0f}x)"
