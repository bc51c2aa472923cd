"""The process monitor against real processes: exact matching, restarts, and one report when they fail."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitors_support import monitor_settings, wait_until
from vmha.contracts import ContractError, ProcessEvent, ProcessPayload
from vmha.monitors.process import ProcessMonitor
from vmha.monitors.processes import Cmdline, PidFile, SystemdUnit, is_alive, parse_process_list, run_command
from vmha.monitors.sink import MemorySink, Reporter
from vmha.templates import load_example


@pytest.fixture
def children() -> Iterator[list[int]]:
    """Pids to kill at the end of the test (the processes restart commands leave behind)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def sleeper(seconds: str) -> subprocess.Popen[bytes]:
    """``sleep seconds``, returned once its argv shows in /proc: Popen returns as soon as exec closed the
    close-on-exec pipe, before the kernel set up the new argv, so /proc/PID/cmdline can still read empty
    (often does on a busy machine) and a check at once would find the process dead."""
    process = subprocess.Popen(["sleep", seconds], start_new_session=True)
    assert wait_until(lambda: is_alive(Cmdline(("sleep", seconds))) is True, 10, 0.001)
    return process


def unique_seconds() -> str:
    return f"{random.randint(100000, 999999)}.5"


def kill(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def start_in_background(pid_file: Path, seconds: str) -> list[str]:
    """A restart command that really starts the process and writes its pid file."""
    return ["sh", "-c", f"sleep {seconds} & echo $! > {pid_file}"]


def monitor(tmp_path: Path, processes: list[dict[str, Any]]) -> tuple[ProcessMonitor, MemorySink]:
    path = tmp_path / "process_list.yaml"
    path.write_text(yaml.safe_dump({"processes": processes}))
    settings = monitor_settings(tmp_path / "state", process={"process_list": str(path),
                                                             "command_timeout_seconds": 10})
    sink = MemorySink()
    return ProcessMonitor(Reporter(sink, "compute1", "process"), settings.monitor.process), sink


def test_liveness_is_exact(tmp_path: Path) -> None:
    seconds = unique_seconds()
    process = sleeper(seconds)
    try:
        (tmp_path / "pid").write_text(f"{process.pid}\n")
        assert is_alive(PidFile(tmp_path / "pid"))
        assert is_alive(Cmdline(("sleep", seconds)))
        assert not is_alive(Cmdline(("sleep", seconds[:-1])))  # a prefix of the real argv is not a match
        assert not is_alive(Cmdline(("sleep",)))
    finally:
        kill(process)
    assert not is_alive(PidFile(tmp_path / "pid"))
    assert not is_alive(Cmdline(("sleep", seconds)))
    assert not is_alive(PidFile(tmp_path / "absent"))


def test_a_zombie_is_dead(tmp_path: Path) -> None:
    process = sleeper(unique_seconds())
    process.send_signal(signal.SIGKILL)
    assert wait_until(lambda: (Path("/proc") / str(process.pid) / "stat").read_text().split()[2] == "Z", 5)
    (tmp_path / "pid").write_text(str(process.pid))
    assert not is_alive(PidFile(tmp_path / "pid"))
    process.wait()


def test_systemd_that_cannot_be_asked_is_unknown_not_dead() -> None:
    # This machine has systemctl but no systemd as PID 1: the answer must be "cannot tell".
    if subprocess.run(["systemctl", "is-system-running"], capture_output=True, check=False).returncode == 0:
        pytest.skip("systemd runs here")
    assert is_alive(SystemdUnit("nova-compute.service")) is None


def test_commands_succeed_only_with_status_zero_in_time() -> None:
    assert run_command(("true",), 5)
    assert not run_command(("false",), 5)
    assert not run_command(("/nonexistent/command",), 5)
    assert not run_command(("sleep", "5"), 0.2)


def test_a_dead_process_restarted_is_not_reported(tmp_path: Path, children: list[int]) -> None:
    seconds, pid_file = unique_seconds(), tmp_path / "svc.pid"
    process = sleeper(seconds)
    pid_file.write_text(str(process.pid))
    watcher, sink = monitor(tmp_path, [{
        "name": "svc", "match": {"pid_file": str(pid_file)}, "restart_command": start_in_background(pid_file, seconds),
        "restart_retries": 2, "restart_interval_seconds": 0.2}])
    watcher.once()
    kill(process)
    watcher.once()
    new_pid = int(pid_file.read_text())
    children.append(new_pid)
    assert new_pid != process.pid and is_alive(PidFile(pid_file))
    assert sink.notifications == []


def test_a_process_that_cannot_be_restarted_is_reported_once(tmp_path: Path, children: list[int]) -> None:
    seconds = unique_seconds()
    process = sleeper(seconds)
    hooks = tmp_path / "hooks"
    watcher, sink = monitor(tmp_path, [{
        "name": "nova-compute", "match": {"cmdline": ["sleep", seconds]},
        "pre_restart_command": ["sh", "-c", f"echo pre >> {hooks}"], "restart_command": ["false"],
        "restart_retries": 2, "restart_interval_seconds": 0}])
    watcher.once()
    kill(process)
    for _ in range(3):
        watcher.once()
    assert [n.payload for n in sink.notifications] == [ProcessPayload(ProcessEvent.STOPPED, "nova-compute")]
    assert hooks.read_text().split() == ["pre", "pre"]  # two attempts, each with its hook, then no more
    again = sleeper(seconds)  # back (an operator fixed it), then dead again: a new report
    watcher.once()
    kill(again)
    watcher.once()
    assert len(sink.notifications) == 2


def test_a_never_seen_process_is_started_with_the_start_command(tmp_path: Path, children: list[int]) -> None:
    seconds, pid_file = unique_seconds(), tmp_path / "svc.pid"
    watcher, sink = monitor(tmp_path, [{
        "name": "svc", "match": {"pid_file": str(pid_file)}, "start_command": start_in_background(pid_file, seconds),
        "restart_command": ["false"], "restart_retries": 1, "restart_interval_seconds": 0.2}])
    watcher.once()
    children.append(int(pid_file.read_text()))
    assert is_alive(PidFile(pid_file)) and sink.notifications == []


def test_run_stops_promptly_and_beats(tmp_path: Path) -> None:
    watcher, _ = monitor(tmp_path, [])
    stop, beats = threading.Event(), []
    thread = threading.Thread(target=watcher.run, args=(stop, lambda: beats.append(1)))
    thread.start()
    assert wait_until(lambda: len(beats) >= 1, 5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_the_example_list_parses_and_bad_lists_name_the_field() -> None:
    specs = parse_process_list(load_example("process_list"))
    assert [spec.name for spec in specs] == ["nova-compute", "libvirtd", "ovs-vswitchd"]
    assert specs[1].restart.pre == ("logger", "-t", "vmha", "restarting", "libvirtd")
    assert specs[0].start.main == ("systemctl", "restart", "nova-compute.service")  # falls back to restart
    with pytest.raises(ContractError) as caught:
        parse_process_list({"processes": [{"name": "x", "match": {"pid_file": "relative.pid"}}]})
    assert caught.value.path == "processes/0/match/pid_file"
