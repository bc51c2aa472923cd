"""`vmha monitor process` against real processes: a restarted one stays quiet, one that cannot be restarted
is reported once, in a real Zaqar queue."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import yaml

from tests import monitors_support as support
from tests.monitors_support import monitor_settings, queue_bodies, wait_for_bodies, wait_for_touches, wait_until
from vmha.monitors import runner
from vmha.monitors.processes import PidFile, is_alive

zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests


def test_restart_succeeds_quietly_and_a_failed_restart_is_reported_once(
        tmp_path: Path, zaqar: Any, queue: str) -> None:
    good_seconds, bad_seconds = (f"{random.randint(100000, 999999)}.25" for _ in range(2))
    good = subprocess.Popen(["sleep", good_seconds], start_new_session=True)
    bad = subprocess.Popen(["sleep", bad_seconds], start_new_session=True)
    pid_file = tmp_path / "good.pid"
    pid_file.write_text(str(good.pid))
    process_list = tmp_path / "process_list.yaml"
    process_list.write_text(yaml.safe_dump({"processes": [
        {"name": "good-service", "match": {"pid_file": str(pid_file)},
         "restart_command": ["sh", "-c", f"sleep {good_seconds} & echo $! > {pid_file}"],
         "restart_retries": 2, "restart_interval_seconds": 0.2},
        {"name": "nova-compute", "match": {"cmdline": ["sleep", bad_seconds]},
         "restart_command": ["sh", "-c", "exit 1"], "restart_retries": 2, "restart_interval_seconds": 0.1},
    ]}))
    state = tmp_path / "state"
    settings = monitor_settings(state, queue, cloud="vmha-admin", process={
        "process_list": str(process_list), "check_interval_seconds": 0.2, "command_timeout_seconds": 10})
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=("process", settings), kwargs={"stop": stop})
    thread.start()
    try:
        assert wait_until((state / "process.health").exists, 20)
        for process in (good, bad):
            process.kill()
            process.wait()
        [body] = wait_for_bodies(zaqar, queue, 1)
        wait_for_touches(state / "process.health", 5)  # further checks: no second report, service stays up
        assert is_alive(PidFile(pid_file))
    finally:
        stop.set()
        thread.join(30)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert body["payload"] == {"event": "STOPPED", "process_name": "nova-compute"}
    assert (body["type"], body["hostname"], body["source"]) == ("PROCESS", "compute1", "vmha-monitor/process@compute1")
    assert len(queue_bodies(zaqar, queue)) == 1
