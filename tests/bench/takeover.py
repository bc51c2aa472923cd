"""What a recovery shared by two gateway replicas showed, one of them SIGKILLed or not (``tests.bench.replica_kill``),
and the table comparing each killed run with the runs without a kill of the same invocation.

Issue 15 item 1's target: the kill delays the recovery by at most ``DELAY_TARGET`` seconds (the killed run's
RTO minus the median RTO of the runs without a kill, same servers, method and fencing), every server evacuated
exactly once (Nova's ``evacuate`` instance actions) and the host fenced once (its BMC's power-off requests and
the journal's fence records). The same delay counted from the notification's intake leaves out how long the
notification waited to be claimed (a Zaqar push, else the next poll: up to ``gateway.poll_interval_seconds``),
which varies from run to run whatever the kill does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tests.bench.timeline import Phases
from vmha.console import table

DELAY_TARGET = 25.0


@dataclass(frozen=True)
class Takeover:
    """One run with two replicas: who was killed and when, and what the recovery did."""

    pair: str
    """The scenario without its replica label (``host auto 10 redfish``): runs with and without a kill compare."""
    replicas: tuple[str, ...]
    killed: str | None
    """The replica SIGKILLed (its host name), None in a run without a kill."""
    killed_at: float | None
    """Seconds after the host's kill."""
    killed_held: int
    """Zaqar claims the killed replica held (recorded in the journal) at its kill."""
    killed_running: int
    """Steps it was running at its kill (the journal's leases)."""
    taken_over_at: float | None
    """Seconds after the host's kill when a survivor logged the takeover (None: none did)."""
    after_kill_seconds: float | None
    """The replica's kill -> every server ACTIVE elsewhere."""
    evacuations: dict[str, int]
    """Server name -> Nova's evacuate actions on it."""
    power_offs: int
    """Power requests (ComputerSystem.Reset) the failed host's BMC received between its kill and the end."""
    fences: int
    """Fence records of the host in the journal for the notification (0 or 1)."""
    steps: dict[str, dict[str, int]]
    """Replica -> step -> step runs it ended (the journal's last owner of each run)."""
    reruns: tuple[str, ...]
    """Steps (``step instance``) started more than once at the same attempt: handed over after the kill."""

    @property
    def once_each(self) -> bool:
        return bool(self.evacuations) and set(self.evacuations.values()) == {1}


class Measured(Protocol):
    """A run of the benchmark as this module reads it (``tests.bench.host_failure.Run``)."""

    @property
    def rto_seconds(self) -> float | None: ...

    @property
    def takeover(self) -> Takeover | None: ...

    @property
    def phases(self) -> Phases | None: ...


@dataclass(frozen=True)
class Row:
    """A killed run against the runs without a kill of its pair."""

    pair: str
    rto_seconds: float | None
    baseline_seconds: float | None
    """Median RTO of the pair's runs without a kill."""
    delay_seconds: float | None
    after_intake_seconds: float | None
    """The delay counted from the notification's intake in both (the killed run's and the median)."""
    takeover: Takeover

    @property
    def met(self) -> bool:
        mark = self.takeover
        return (self.delay_seconds is not None and self.delay_seconds <= DELAY_TARGET and mark.once_each
                and mark.power_offs == 1 and mark.fences == 1)


def rows(runs: Sequence[Measured]) -> list[Row]:
    """Every killed run against the median of its pair's runs without a kill."""
    baselines: dict[str, list[float]] = {}
    intakes: dict[str, list[float]] = {}
    for run in runs:
        if run.takeover is not None and run.takeover.killed is None and run.rto_seconds is not None:
            baselines.setdefault(run.takeover.pair, []).append(run.rto_seconds)
            intakes.setdefault(run.takeover.pair, []).append(_after_intake(run) or 0.0)
    found = []
    for run in runs:
        mark = run.takeover
        if mark is None or mark.killed is None:
            continue
        median = _median(baselines.get(mark.pair))
        after = _after_intake(run)
        base_after = _median(intakes.get(mark.pair))
        found.append(Row(mark.pair, run.rto_seconds, median, _minus(run.rto_seconds, median),
                         _minus(after, base_after), mark))
    return found


def _after_intake(run: Measured) -> float | None:
    """The run's RTO counted from its notification's intake."""
    return None if run.phases is None else _minus(run.rto_seconds, run.phases.detection)


def _minus(value: float | None, less: float | None) -> float | None:
    return None if value is None or less is None else value - less


def _median(values: Sequence[float] | None) -> float | None:
    return statistics.median(values) if values else None


def table_lines(found: Sequence[Row]) -> list[str]:
    """The killed runs, one line each."""
    lines = [(row.pair, _s(row.rto_seconds), _s(row.baseline_seconds), _s(row.delay_seconds),
              _s(row.after_intake_seconds), f"{row.takeover.killed} at {_s(row.takeover.killed_at)}",
              _s(_after_kill(row.takeover)), _s(row.takeover.after_kill_seconds), _evacuations(row.takeover),
              str(row.takeover.power_offs), str(row.takeover.fences), _shares(row.takeover),
              "met" if row.met else "MISSED")
             for row in found]
    return table(("SCENARIO", "RTO", "NO KILL (MEDIAN)", "DELAY", "FROM INTAKE", "KILLED", "TAKEOVER AFTER KILL",
                  "KILL -> LAST ACTIVE", "EVACUATIONS/SERVER", "POWER-OFFS", "FENCES", "STEPS ENDED BY",
                  f"DELAY <= {DELAY_TARGET:.0f} S, ONCE"), lines)


def run_lines(mark: Takeover) -> list[str]:
    """One run's replicas: the kill, the takeover, the steps each replica ended, the steps handed over."""
    lines = []
    if mark.killed is not None:
        lines.append(f"replica {mark.killed} SIGKILLed at {_s(mark.killed_at)} holding {mark.killed_held} claims, "
                     f"running {mark.killed_running} steps; taken over at {_s(mark.taken_over_at)}; every server "
                     f"ACTIVE elsewhere {_s(mark.after_kill_seconds)} after the kill")
    lines.append(f"evacuations per server: {_evacuations(mark)}; BMC power requests {mark.power_offs}, "
                 f"fence records {mark.fences}")
    for replica in mark.replicas:
        ended = ", ".join(f"{step} {count}" for step, count in sorted(mark.steps.get(replica, {}).items()))
        lines.append(f"steps ended by {replica}: {ended or 'none'}")
    if mark.reruns:
        lines.append(f"started again after the kill: {', '.join(mark.reruns)}")
    return lines


def document(found: Sequence[Row]) -> list[dict[str, Any]]:
    """The killed runs' comparison for --json (the runs themselves are there in full)."""
    return [{"scenario": row.pair, "rto_seconds": row.rto_seconds, "baseline_seconds": row.baseline_seconds,
             "delay_seconds": row.delay_seconds, "delay_from_intake_seconds": row.after_intake_seconds,
             "killed": row.takeover.killed, "met": row.met} for row in found]


def _after_kill(mark: Takeover) -> float | None:
    if mark.taken_over_at is None or mark.killed_at is None:
        return None
    return mark.taken_over_at - mark.killed_at


def _evacuations(mark: Takeover) -> str:
    if mark.once_each:
        return "1 each"
    counts = sorted(set(mark.evacuations.values()))
    odd = sum(1 for count in mark.evacuations.values() if count != 1)
    return f"{odd} of {len(mark.evacuations)} not 1 ({', '.join(map(str, counts))})"


def _shares(mark: Takeover) -> str:
    return ", ".join(f"{replica} {sum(mark.steps.get(replica, {}).values())}" for replica in mark.replicas)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"
