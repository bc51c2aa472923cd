"""`vmha status` rendering on a real SQLite journal; `vmha deploy` argument handling without a cloud."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, new_notification
from vmha import cli
from vmha.commands import deploy as deploy_command
from vmha.commands.status import render
from vmha.console import bar, table
from vmha.contracts import parse_settings
from vmha.deploy import DeployError
from vmha.journal import InstanceStatus, Journal, NotificationStatus, StepClaim, StepKey, open_journal, upgrade

LEASE = timedelta(seconds=60)


def _finish(journal: Journal, nid: str, step: str, instance: str = "") -> None:
    claim = journal.begin_step(StepKey(nid, step, instance), LEASE)
    assert isinstance(claim, StepClaim)
    journal.finish_step(claim, {})


def test_status_shows_each_recovery_with_its_progress_and_instances(tmp_path: Path) -> None:
    settings = parse_settings({}, {})
    with open_journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        host = dataclasses.replace(new_notification("compute1"), recovery_method="auto")
        journal.record_notification(host, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
        journal.set_status(host.id, NotificationStatus.RUNNING)
        for step in ("guard_mass_failure", "fence_host", "disable_compute_service", "plan_evacuation"):
            _finish(journal, host.id, step)
        moved, moving = str(uuid.uuid4()), str(uuid.uuid4())
        journal.record_instance_progress(host.id, moved, InstanceStatus.SUCCEEDED, source_host="compute1",
                                         dest_host="compute3")
        journal.record_instance_progress(host.id, moving, InstanceStatus.ONGOING, source_host="compute1")
        _finish(journal, host.id, "evacuate_instance", moved)
        journal.add_progress_event(host.id, "evacuate_instance", "succeeded", 1.0, moved)
        ended = new_notification("compute2", notification_type="PROCESS",
                                 payload={"event": "STOPPED", "process_name": "nova-compute"})
        journal.record_notification(ended, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
        journal.set_status(ended.id, NotificationStatus.IGNORED, "host in no segment")
        lines = render(journal, settings, 10)
    by_start = {line.split()[0]: line for line in lines}
    # The auto flow: 4 host steps done, then 2 instances x 2 per-instance steps (1 done), then the join.
    assert bar(5 / 9) in by_start[host.id[:8]]
    assert "running" in by_start[host.id[:8]] and "evacuate_instance: succeeded" in by_start[host.id[:8]]
    assert f"    instance {moved[:8]}  compute1 -> compute3  succeeded" in lines
    assert f"    instance {moving[:8]}  compute1  ongoing" in lines
    assert bar(1.0) in by_start[ended.id[:8]] and by_start[ended.id[:8]].endswith("host in no segment")


def test_status_once_on_an_empty_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    upgrade(url)  # `vmha status` is a client: it never migrates (tests/unit/test_journal_upkeep.py)
    assert cli.main(["status", "--once", "--no-capacity", "--journal-url", url]) == 0
    assert capsys.readouterr().out == "no notifications\n"


def test_bars_and_tables() -> None:
    assert bar(0.5, width=10) == "[#####.....]  50%"
    assert bar(2.0, width=4) == "[####] 100%"
    assert table(("A", "BB"), [("xyz", "1")]) == ["A    BB", "xyz  1"]


def test_deploy_parameters_are_yaml_and_bad_ones_are_refused() -> None:
    assert deploy_command.parameters(["a=1", "segments=[{name: s, hosts: [h1]}]", "url=http://x:1"]) == {
        "a": 1, "segments": [{"name": "s", "hosts": ["h1"]}], "url": "http://x:1"}
    with pytest.raises(DeployError, match="not key=value"):
        deploy_command.parameters(["novalue"])
    assert deploy_command.environment("local-cloud").name == "local-cloud.yaml"


def test_deploy_with_an_unknown_environment_is_one_clear_line(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  here:\n    auth: {auth_url: 'http://127.0.0.1:9/v3'}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    assert cli.main(["deploy", "--cloud", "here", "-e", "no-such-environment"]) == 2
    error = capsys.readouterr().err
    assert error == "vmha: no environment file no-such-environment (nor heat/environments/no-such-environment.yaml)\n"
