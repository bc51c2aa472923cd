"""`vmha monitor`: operator mistakes end in one clear line and exit status 2, before anything runs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.monitors_support import wait_until
from vmha import cli
from vmha.contracts import load_settings
from vmha.monitors.runner import build_monitor, build_sink, run

CLOUDS = {"clouds": {"local": {"auth": {"auth_url": "http://127.0.0.1:9/v3", "username": "u", "password": "p",
                                        "project_name": "p", "user_domain_name": "Default",
                                        "project_domain_name": "Default"}}}}


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """`vmha monitor` installs its log handler on the root logger; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump(CLOUDS))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    process_list = tmp_path / "process_list.yaml"
    process_list.write_text("processes: []\n")
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"monitor": {"cloud": "local", "state_dir": str(tmp_path / "state"),
                                                "process": {"process_list": str(process_list)}}}))
    return path


def test_a_bad_process_list_names_the_field(settings_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (settings_file.parent / "process_list.yaml").write_text("processes:\n  - {name: x, match: {pid_file: rel}}\n")
    assert cli.main(["monitor", "process", "--config", str(settings_file), "--once"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("vmha: processes/0/match/pid_file") and "Traceback" not in error


def test_an_unknown_cloud_names_the_setting(settings_file: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMHA_MONITOR_CLOUD", "elsewhere")
    assert cli.main(["monitor", "process", "--config", str(settings_file), "--once"]) == 2
    assert capsys.readouterr().err.startswith("vmha: monitor/cloud: ")


def test_once_with_nothing_to_report_exits_zero(settings_file: Path) -> None:
    assert cli.main(["monitor", "process", "--config", str(settings_file), "--once"]) == 0
    assert (settings_file.parent / "state" / "spool" / "zaqar").is_dir()


def test_every_monitor_option_has_an_environment_twin(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["settings", "env"]) == 0
    twins = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert {"VMHA_MONITOR_HOSTNAME", "VMHA_MONITOR_INTROSPECTIVE_MISSES", "VMHA_MONITOR_SINK_ZAQAR_URL",
            "VMHA_MONITOR_PROCESS_PROCESS_LIST", "VMHA_MONITOR_INSTANCE_RECONNECT_SECONDS"} <= twins


def test_a_quiet_monitor_loads_neither_openstacksdk_nor_an_http_client(settings_file: Path) -> None:
    """The monitor runs on every compute host in a small memory budget (issue 5: 40 MB)."""
    script = ("import json, sys; from vmha import cli; "
              f"code = cli.main(['monitor', 'all', '--config', {str(settings_file)!r}, '--once']); "
              "print(json.dumps([code, sorted({name.split('.')[0] for name in sys.modules})]))")
    settings = yaml.safe_load(settings_file.read_text())
    settings["monitor"]["libvirt_uri"] = "test:///default"
    settings_file.write_text(yaml.safe_dump(settings))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={**os.environ, "VMHA_MONITOR_LOG_LEVEL": "WARNING"})
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    assert {"libvirt", "vmha"} <= set(modules)
    assert not {"openstack", "zaqarclient", "keystoneauth1", "requests", "tooz"} & set(modules)


def test_a_running_monitor_authenticates_at_start(settings_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Before anything fails: the warm-up's attempt shows, here as the warning of a Keystone on a closed port."""
    stop = threading.Event()
    monitor = threading.Thread(target=run, args=("process", load_settings(settings_file, {}), False, stop))
    monitor.start()
    try:
        assert wait_until(lambda: any(record.name == "vmha.monitors.cloud" for record in caplog.records), 10)
    finally:
        stop.set()
        monitor.join(10)
    [warning] = [record for record in caplog.records if record.name == "vmha.monitors.cloud"]
    assert warning.getMessage() == "cannot authenticate yet; notifications are spooled until it works"


def test_the_host_monitor_asks_nova_with_the_sink_request_timeout(settings_file: Path) -> None:
    settings = load_settings(settings_file, {"VMHA_COORDINATION_URL": "file:///tmp/vmha-unused",
                                             "VMHA_MONITOR_HOST_SEGMENT": "s",
                                             "VMHA_MONITOR_SINK_REQUEST_TIMEOUT_SECONDS": "7"})
    monitor = build_monitor("host", settings, build_sink(settings))
    assert monitor._probe._cloud.session.timeout == 7  # type: ignore[attr-defined]  # a hung Nova cannot stall it
