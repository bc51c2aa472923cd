"""The drill's verdict (vmha.drill.verdict): phases counted from the power-off, the objective judged on every
canary ACTIVE elsewhere, a canary evacuated twice or left on its host failing the drill."""

from __future__ import annotations

import io

from vmha.drill.verdict import Canary, Verdict, show

PHASES: dict[str, float | None] = {"admitted": 0.5, "fenced": 2.0, "first_active": 6.0, "all_active": 8.0}
ONCE = (Canary("drill-c1-1", "c1", "c2", "ACTIVE", 1), Canary("drill-c1-2", "c1", "c3", "ACTIVE", 1))


def verdict(objective: float | None = 20.0, canaries: tuple[Canary, ...] = ONCE,
            returned: float | None = 12.0) -> Verdict:
    return Verdict(4.0, PHASES, returned, objective, canaries)


def shown(found: Verdict) -> list[list[str]]:
    stream = io.StringIO()
    show(found, stream)
    return [line.split() for line in stream.getvalue().splitlines() if line.strip()]


def test_phases_are_counted_from_the_power_off_and_judged_against_the_objective() -> None:
    lines = shown(verdict(objective=11.0))
    assert lines[:7] == [["PHASE", "SECONDS", "OBJECTIVE", "MET"], ["detected", "4.0", "11", "yes"],
                         ["admitted", "4.5", "11", "yes"], ["fenced", "6.0", "11", "yes"],
                         ["first", "ACTIVE", "10.0", "11", "yes"], ["all", "ACTIVE", "12.0", "11", "no"],
                         ["back", "in", "service", "12.0", "-", "-"]]
    assert lines[-1][:2] == ["drill", "FAILED:"] and "objective of 11 s" in " ".join(lines[-1])
    assert verdict(objective=12.0).passed and verdict(objective=None).passed
    assert verdict(objective=None).met is None


def test_every_canary_must_be_evacuated_exactly_once_to_another_host() -> None:
    twice = (ONCE[0], Canary("drill-c1-2", "c1", "c3", "ACTIVE", 2))
    stayed = (ONCE[0], Canary("drill-c1-2", "c1", "c1", "ACTIVE", 0))
    assert not verdict(canaries=twice).passed and not verdict(canaries=stayed).passed
    assert not verdict(canaries=()).passed
    rows = shown(verdict(canaries=stayed))
    assert ["drill-c1-2", "c1", "-", "ACTIVE", "0", "no"] in rows
    assert "not recovered exactly once: drill-c1-2" in " ".join(rows[-1])


def test_a_host_not_back_in_service_fails_the_drill() -> None:
    found = verdict(returned=None)
    assert not found.passed
    assert ["back", "in", "service", "-", "-", "-"] in shown(found)
    assert "the host is not back in service" in " ".join(shown(found)[-1])
