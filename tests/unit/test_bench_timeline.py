"""The benchmark's reading of a recovery from a real SQLite journal driven by a fake clock: step spans
(first start to last end, retries included) and the hops between steps; and the report's percentiles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.bench import report, timeline
from tests.bench.cloud_cpu import CloudCpu
from tests.unit.journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification
from vmha.journal import Journal, NotificationDetail, StepClaim, StepKey, open_journal

LEASE = timedelta(seconds=60)
FLOW = ("plan_evacuation", "evacuate_instance", "confirm_instance_evacuated", "finish_host_recovery")


class Recovery:
    """Writes a recovery into the journal as the runtime does, the clock moving by given seconds."""

    def __init__(self, journal: Journal, clock: FakeClock, notification_id: str) -> None:
        self.journal, self.clock, self.id = journal, clock, notification_id

    def wait(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def run(self, step: str, seconds: float, instance: str = "", *, retried: bool = False) -> None:
        """One attempt (an event, then the work), or two when ``retried`` (the first fails, 1 s apart)."""
        for attempt in (1, 2) if retried else (1,):
            self.journal.add_progress_event(self.id, step, f"attempt {attempt} started", 0.0, instance)
            claim = self.journal.begin_step(StepKey(self.id, step, instance), LEASE)
            assert isinstance(claim, StepClaim)
            self.wait(seconds)
            if retried and attempt == 1:
                self.journal.fail_step(claim, "not yet")
                self.wait(1)
            else:
                self.journal.finish_step(claim, {})


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[NotificationDetail, FakeClock]:
    clock = FakeClock()
    journal = open_journal(f"sqlite:///{tmp_path / 'journal.db'}", clock)
    t0 = clock()
    new = new_notification()
    recovery = Recovery(journal, clock, new.id)
    recovery.wait(0.5)
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    journal.add_progress_event(new.id, timeline.INTAKE, "flow: ...", 1.0)
    recovery.wait(0.1)
    recovery.run("plan_evacuation", 0.3)
    recovery.wait(0.05)
    recovery.run("evacuate_instance", 1.0, "a")
    recovery.run("evacuate_instance", 2.0, "b")
    recovery.wait(0.02)
    recovery.run("confirm_instance_evacuated", 0.5, "b", retried=True)
    recovery.wait(0.2)
    recovery.run("finish_host_recovery", 0.1)
    detail = journal.get_notification(new.id)
    journal.close()
    assert detail is not None
    return detail, FakeClock(t0)


def test_spans_run_from_the_first_start_to_the_last_end_in_seconds_after_t0(
        recorded: tuple[NotificationDetail, FakeClock]) -> None:
    detail, t0 = recorded
    spans = {span.step: span for span in timeline.spans(detail, t0())}
    assert [span.step for span in timeline.spans(detail, t0())] == ["intake", *FLOW]
    assert (spans["intake"].start, spans["intake"].end) == (0.0, 0.5)
    assert (spans["plan_evacuation"].start, round(spans["plan_evacuation"].seconds, 6)) == (0.6, 0.3)
    evacuate = spans["evacuate_instance"]
    assert (evacuate.start, evacuate.end, evacuate.runs, evacuate.attempts) == (0.95, 3.95, 2, 2)
    confirm = spans["confirm_instance_evacuated"]
    assert (confirm.start, confirm.end, confirm.runs, confirm.attempts) == (3.97, 5.97, 1, 2)


def test_hops_run_from_the_predecessor_s_end_to_the_first_start(
        recorded: tuple[NotificationDetail, FakeClock]) -> None:
    detail, _ = recorded
    hops = timeline.hops(detail, FLOW)
    # plan after intake; confirm b after evacuate b; finish after the last confirm. The fan-out's first
    # step (evacuate a, b after plan) has none: b waited for a as for a busy worker.
    assert sorted(round(hop, 2) for hop in hops) == [0.02, 0.1, 0.2]


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (report.percentile(values, 0.5), report.percentile(values, 0.99)) == (50.0, 99.0)
    assert report.percentile([7.0], 0.99) == 7.0


def test_a_run_that_did_not_recover_misses_its_target_and_has_no_ratio() -> None:
    summary = report.summarize("host auto 10", [5.0, None, 7.0], 12.0, report.MASAKARI_HOST[10])
    assert (summary.median_seconds, summary.recovered_runs, summary.missed) == (6.0, 2, True)
    met = report.summarize("host auto 10", [5.0, 7.0], 12.0, report.MASAKARI_HOST[10])
    assert (met.missed, met.ratios) == (False, {"defaults": 268.0 / 6.0, "tuned": 14.0})
    assert report.summarize("host auto 10", [None], 12.0, {}).ratios == {}


def test_phases_are_detection_then_fence_host_s_span_then_the_rest_to_the_rto(
        recorded: tuple[NotificationDetail, FakeClock]) -> None:
    detail, t0 = recorded
    fence = timeline.Span(timeline.FENCE, 0.6, 0.85, 1, 1)
    assert timeline.phases(detail, t0(), [fence], 5.0) == timeline.Phases(0.5, 0.25, 4.15)
    assert timeline.phases(detail, t0(), [fence], None) == timeline.Phases(0.5, 0.25, None)
    assert timeline.phases(detail, t0(), timeline.spans(detail, t0()), 5.0) == timeline.Phases(0.5, None, None)


def test_phase_summaries_give_each_phase_s_median_and_every_run() -> None:
    runs = [timeline.Phases(4.0, 0.3, 10.0), timeline.Phases(5.0, 0.5, None), timeline.Phases(6.0, 0.4, 12.0)]
    assert report.phase_medians(runs) == {"detection": 5.0, "fence": 0.4, "evacuation": 11.0}
    assert report.phase_line(runs[1]) == "phases: detection 5.00 s, fence 0.50 s, evacuation -"
    lines = report.phase_summary_lines({"host auto 10 detected ipmi": runs})
    assert "5.0 s (4.00, 5.00, 6.00)" in lines[-1] and "11.0 s (10.00, -, 12.00)" in lines[-1]


def test_what_the_cloud_spent_is_summarized_by_its_medians_and_shown_with_nova_apart() -> None:
    spent = [CloudCpu({"nova-api": 12.0, "nova-conductor": 8.0, "keystone-api": 20.0}), None,
             CloudCpu({"nova-api": 30.0, "mariadb": 20.0}), CloudCpu({"nova-compute2": 26.0, "zaqar-api": 18.0})]
    summary = report.summarize("host auto 50", [27.0, None, 26.0, 29.0], 25.0, {}, cloud_cpu=spent)
    assert (summary.cloud_cpu_seconds, summary.nova_cpu_seconds) == (44.0, 26.0)
    header, row = report.summary_lines([summary])[:2]
    assert "CLOUD CPU (NOVA)" in header and "44.0 s (26.0)" in row
    assert spent[0] is not None and spent[0].top(2) == "keystone-api 20.0, nova-api 12.0"
    assert "44.0 s" not in report.summary_lines([report.summarize("host auto 50", [27.0], 25.0, {})])[1]


def test_hops_are_judged_per_scenario_by_issue_20_for_host_recoveries_and_issue_8_otherwise() -> None:
    assert (report.hop_target("host auto 10", 10), report.hop_target("host auto 50 redfish", 50)) == (0.050, 0.150)
    assert (report.hop_target("host auto 200", 200), report.hop_target("VM failure", 1)) == (None, 0.020)
    ten = report.Hops("host auto 10", (0.01, 0.02, 0.06), 0.050)
    many = report.Hops("host auto 200", (0.5,), None)

    lines = report.hop_lines([ten, report.Hops("floor 10", (), None), many])

    assert (ten.met, many.met, report.Hops("VM failure", (0.015,), 0.020).met) == (False, None, True)
    assert [line.split()[:3] for line in lines[2:]] == [["host", "auto", "10"], ["host", "auto", "200"]]
    assert lines[2].split()[-2:] == ["ms", "MISSED"] and lines[3].split()[-2:] == ["-", "-"]
    assert report.hop_lines([report.Hops("floor 10", (), None)]) == ["pipeline overhead: no step hops recorded"]
