"""The drill's verdict: each phase's seconds from the power-off against the segment's objective, and each
canary's move with how many times Nova evacuated it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from vmha.console import table

RECOVERY_PHASES = (("detected", None), ("admitted", "admitted"), ("fenced", "fenced"),
                   ("first ACTIVE", "first_active"), ("all ACTIVE", "all_active"))
"""The verdict's recovery rows and the RTO report's phase each one adds to the detection (None: detection)."""


@dataclass(frozen=True)
class Canary:
    """Where a canary ended and how many evacuations Nova recorded for it."""

    name: str
    source: str
    host: str
    status: str
    evacuations: int

    @property
    def recovered_once(self) -> bool:
        return self.status == "ACTIVE" and self.host != self.source and self.evacuations == 1


@dataclass(frozen=True)
class Verdict:
    """What the drill measured; seconds are None for a phase not reached."""

    detected: float | None
    """Seconds from the power-off to the failure as the monitor reported it (the notification's time)."""
    phases: dict[str, float | None]
    """The RTO report's phases of the recovery, seconds from the reported failure (empty: no report)."""
    returned: float | None
    """Seconds from the power-on until the host was back in service."""
    objective: float | None
    canaries: tuple[Canary, ...]

    def seconds(self, phase: str | None) -> float | None:
        """A recovery phase's seconds from the power-off."""
        if self.detected is None:
            return None
        if phase is None:
            return self.detected
        took = self.phases.get(phase)
        return None if took is None else self.detected + took

    @property
    def met(self) -> bool | None:
        """Whether every canary was ACTIVE elsewhere within the objective of the power-off; None without one."""
        if self.objective is None:
            return None
        took = self.seconds("all_active")
        return took is not None and took <= self.objective

    @property
    def passed(self) -> bool:
        return (bool(self.canaries) and all(canary.recovered_once for canary in self.canaries)
                and self.met is not False and self.returned is not None)


def show(verdict: Verdict, stream: TextIO) -> None:
    """The phase table, the canary table and the verdict line."""
    objective = "-" if verdict.objective is None else f"{verdict.objective:g}"
    rows = []
    for label, phase in RECOVERY_PHASES:
        took = verdict.seconds(phase)
        met = "-" if verdict.objective is None else ("yes" if took is not None and took <= verdict.objective else "no")
        rows.append((label, _seconds(took), objective, met))
    rows.append(("back in service", _seconds(verdict.returned), "-", "-"))
    lines = ["", *table(("PHASE", "SECONDS", "OBJECTIVE", "MET"), rows), ""]
    lines += table(("SERVER", "FROM", "TO", "STATE", "EVACUATIONS", "ONCE"),
                   [(canary.name, canary.source, canary.host if canary.host != canary.source else "-",
                     canary.status, str(canary.evacuations), "yes" if canary.recovered_once else "no")
                    for canary in verdict.canaries])
    lines += ["", f"drill {'PASSED' if verdict.passed else 'FAILED'}: {_why(verdict)}", ""]
    print("\n".join(lines), file=stream, flush=True)


def _seconds(took: float | None) -> str:
    return "-" if took is None else f"{took:.1f}"


def _why(verdict: Verdict) -> str:
    wrong = [canary.name for canary in verdict.canaries if not canary.recovered_once]
    reasons = []
    if wrong or not verdict.canaries:
        reasons.append(f"not recovered exactly once: {', '.join(wrong) or 'no canary'}")
    if verdict.met is False:
        reasons.append(f"every canary ACTIVE elsewhere not within the objective of {verdict.objective:g} s")
    if verdict.returned is None:
        reasons.append("the host is not back in service")
    if reasons:
        return "; ".join(reasons)
    return "every canary recovered exactly once" + ("" if verdict.met is None else ", within the objective") + \
        ", the host back in service"
