"""The guest agent heartbeat detector: report once after N misses following a healthy period."""

from __future__ import annotations

from vmha.monitors.heartbeat import Heartbeat, Phase, Verdict, observe


def feed(answers: str, misses: int = 3, start: Heartbeat | None = None) -> list[Verdict]:
    """Feed '+' (answered) and '-' (missed) pings; return the verdicts."""
    state = start or Heartbeat()
    verdicts = []
    for answer in answers:
        state, verdict = observe(state, answer == "+", misses)
        verdicts.append(verdict)
    return verdicts


def reports(answers: str, misses: int = 3) -> list[int]:
    return [index for index, verdict in enumerate(feed(answers, misses)) if verdict is Verdict.REPORT]


def test_reported_exactly_once_on_the_nth_consecutive_miss() -> None:
    assert reports("++------") == [4]
    assert reports("+-", misses=1) == [1]


def test_never_reported_without_a_healthy_period() -> None:
    assert reports("-" * 20) == []


def test_an_answer_resets_the_count() -> None:
    assert reports("+--+--+--") == []


def test_recovery_is_noticed_and_a_later_failure_reports_again() -> None:
    verdicts = feed("+---" + "+" + "---")
    assert [v for v in verdicts if v is not Verdict.NOTHING] == [Verdict.REPORT, Verdict.RECOVERED, Verdict.REPORT]


def test_states_along_the_way() -> None:
    state = Heartbeat()
    state, _ = observe(state, False, 2)
    assert state.phase is Phase.DISCOVERY
    state, _ = observe(state, True, 2)
    assert state == Heartbeat(Phase.HEALTHY, 0)
    state, _ = observe(state, False, 2)
    assert state == Heartbeat(Phase.FAILING, 1)
    state, verdict = observe(state, False, 2)
    assert (state.phase, verdict) == (Phase.REPORTED, Verdict.REPORT)
