"""The side-by-side benchmark's arithmetic and reading of Masakari's records (no Masakari runs here: the
benchmark itself is `python -m tests.bench.masakari`, a script, too slow for CI with Masakari's defaults)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.bench import masakari, masakari_runs, masakari_service
from tests.bench.host_failure import Run
from tests.cloud.layout import Layout
from vmha.contracts import RecoveryMethod


def _run(scenario: str, rto: float | None) -> Run:
    return Run(scenario, 10, 10 if rto else 0, rto, "finished", "compute4", (), (), ())


def test_scenarios_put_the_vm_first_and_repeat_each_as_asked() -> None:
    plan = masakari.scenarios([10, 50], [RecoveryMethod.AUTO, RecoveryMethod.RESERVED_HOST], 3, 5)
    assert [(item.name, item.runs) for item in plan] == [
        ("vm", 5), ("host auto 10", 3), ("host reserved_host 10", 3), ("host auto 50", 3),
        ("host reserved_host 50", 3)]
    assert [item.name for item in masakari.scenarios([10], [RecoveryMethod.AUTO], 1, 0)] == ["host auto 10"]


def test_ratios_are_masakari_median_over_vmha_median_and_a_failed_run_voids_the_median() -> None:
    plan = masakari.scenarios([10], [RecoveryMethod.AUTO], 3, 0)
    vmha = [_run("host auto 10", rto) for rto in (10.0, 20.0, 12.0)]
    runs = {"defaults": [_run("host auto 10", rto) for rto in (240.0, 270.0, 300.0)],
            "tuned": [_run("host auto 10", rto) for rto in (80.0, None, 90.0)]}
    (item,) = masakari.compare(plan, vmha, runs)
    assert (item.vmha, item.masakari) == (12.0, {"defaults": 270.0, "tuned": None})
    assert item.ratios == {"defaults": 22.5}
    lines = masakari.comparison_lines([item], ["defaults", "tuned"])
    assert lines[0].split() == ["SCENARIO", "VMHA", "MASAKARI", "DEFAULTS", "MASAKARI", "TUNED", "VS", "DEFAULTS",
                                "VS", "TUNED"]
    assert lines[-1].split() == ["host", "auto", "10", "12.0", "s", "270.0", "s", "not", "recovered", "22.5x", "-"]


def test_task_spans_read_masakari_progress_records_relative_to_the_failure() -> None:
    record = {"status": "finished", "recovery_workflow_details": [
        {"name": "EvacuateInstancesTask", "progress_details": [
            {"timestamp": "2026-11-25 07:01:05.500000", "progress": 0.0},
            {"timestamp": "2026-11-25 07:01:20.000000", "progress": 1.0}]},
        {"name": "DisableComputeServiceTask", "progress_details": [
            {"timestamp": "2026-11-25T07:00:00.250000Z", "progress": 0.0},
            {"timestamp": "2026-11-25T07:01:00.250000Z", "progress": 1.0}]},
        {"name": "PrepareHAEnabledInstancesTask", "progress_details": []}]}
    spans = masakari_runs.task_spans(record, datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    assert [(span.step, span.start, span.end) for span in spans] == [
        ("masakari DisableComputeServiceTask", 0.25, 60.25), ("masakari EvacuateInstancesTask", 65.5, 80.0)]


def test_engine_options_go_to_the_default_section_and_the_port_follows_the_cloud_offset(tmp_path: Path) -> None:
    layout = Layout(tmp_path, 2000)
    conf = masakari_service.conf_sections(layout, masakari_service.TUNED)
    assert conf["DEFAULT"]["wait_period_after_service_update"] == "0"
    assert conf["DEFAULT"]["masakari_api_listen_port"] == "27868"
    assert masakari_service.api_url(layout) == "http://127.0.0.1:27868"
    assert conf["database"]["connection"].endswith(":25306/masakari?charset=utf8mb4")
    defaults = masakari_service.conf_sections(layout, masakari_service.DEFAULTS)
    assert "wait_period_after_service_update" not in defaults["DEFAULT"]


def test_unknown_option_sets_are_refused() -> None:
    with pytest.raises(SystemExit):
        masakari.parse_arguments(["--options", "defaults,fast"])
