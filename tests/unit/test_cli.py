"""The `vmha` command: settings inspection with clear errors instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmha import cli
from vmha.contracts.reference import settings_reference
from vmha.templates import load_example


def test_settings_check_prints_effective_settings_with_env_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, flows = tmp_path / "settings.json", tmp_path / "custom_flows.json"
    path.write_text(json.dumps(load_example("settings")))
    flows.write_text(json.dumps(load_example("custom_flows")))
    monkeypatch.setenv("VMHA_RETRY_MAX_ATTEMPTS", "9")
    monkeypatch.setenv("VMHA_CUSTOM_FLOWS_FILE", str(flows))
    monkeypatch.setenv("VMHA_API_CONFIG_FILE", str(Path(__file__).parents[2] / "etc/vmha/vmha.conf.sample"))
    assert cli.main(["settings", "check", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["journal_url"] == "mysql+pymysql://vmha:***@db.example.org/vmha"  # the password masked
    assert printed["retry"]["max_attempts"] == 9


def test_settings_check_rejects_a_host_flow_that_evacuates_without_fencing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = load_example("custom_flows")
    flows["COMPUTE_HOST"]["auto"]["pre"] = ["disable_compute_service"]  # fence_host dropped
    (tmp_path / "custom_flows.json").write_text(json.dumps(flows))
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"custom_flows_file": str(tmp_path / "custom_flows.json")}))
    assert cli.main(["settings", "check", str(path)]) == 2
    error = capsys.readouterr().err
    assert "without running fence_host before evacuate_instance" in error and "COMPUTE_HOST/auto" in error
    assert len(error.strip().splitlines()) == 1


def test_settings_check_loads_the_operators_steps_and_masks_the_webhook_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = load_example("custom_flows")
    flows["steps"] = {"cs_note": {"entry_point": "note_instance", "per_instance": True},
                      "cs_page": {"webhook": "https://127.0.0.1:8443/page"}}
    flows["COMPUTE_HOST"]["auto"]["post"] += ["cs_page"]
    flows["COMPUTE_HOST"]["auto"]["post"][2:2] = ["cs_note"]
    (tmp_path / "custom_flows.json").write_text(json.dumps(flows))
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"custom_flows_file": str(tmp_path / "custom_flows.json"),
                                "custom_steps": {"webhook_secret": "cs-do-not-print"}}))
    assert cli.main(["settings", "check", str(path)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["custom_steps"]["webhook_secret"] == "***" and "cs-do-not-print" not in printed
    flows["steps"]["cs_note"]["entry_point"] = "cs_not_installed"
    (tmp_path / "custom_flows.json").write_text(json.dumps(flows))
    assert cli.main(["settings", "check", str(path)]) == 2
    error = capsys.readouterr().err
    assert "no entry point 'cs_not_installed' in the group vmha.steps" in error
    assert len(error.strip().splitlines()) == 1


def test_settings_check_rejects_a_bad_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("retry:\n  max_attempts: many\n")
    assert cli.main(["settings", "check", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("vmha: ") and "max_attempts" in error
    assert "Traceback" not in error


def test_settings_check_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["settings", "check", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in capsys.readouterr().err


def test_settings_env_lists_every_twin(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["settings", "env"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split() == ["VMHA_RETRY_MAX_ATTEMPTS", "retry.max_attempts"] for line in lines)


def test_settings_reference_prints_the_generated_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["settings", "reference"]) == 0
    assert capsys.readouterr().out == settings_reference()
