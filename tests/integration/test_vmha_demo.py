"""`vmha demo` runs to completion headless (as in CI): its host monitors detect the killed host and name their
evidence, the gateway fences it through its Redfish BMC emulator, and the final table shows every server of
the killed host ACTIVE on a new host; afterwards the monitors are gone, the host is powered on and back in
service, and nothing is left behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cloud import helpers
from tests.cloud.layout import Layout
from vmha.fencing import PowerState, load_fencing_config, power_driver

HOST = "compute2"
"""A host whose BMC emulator speaks Redfish (the local cloud's last host speaks IPMI)."""
TABLE_HEADER = ["SERVER", "OLD HOST", "NEW HOST", "STATE"]


def _final_table(output: str) -> list[dict[str, str]]:
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if re.split(r"\s{2,}", line.strip()) == TABLE_HEADER)
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("vmha-demo-"):
            break
        rows.append(dict(zip(TABLE_HEADER, re.split(r"\s{2,}", line.strip()), strict=True)))
    return rows


def _monitors_of(segment: str) -> list[int]:
    """The processes still running as a host monitor of ``segment``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes().split(b"\0") if proc.name.isdigit() else []
        except OSError:  # gone meanwhile, or not ours
            continue
        if f"VMHA_MONITOR_HOST_SEGMENT={segment}".encode() in environ:
            pids.append(int(proc.name))
    return pids


def _power(layout: Layout, host: str) -> PowerState:
    return power_driver(load_fencing_config(layout.fencing_yaml)[host]).power_state()


def run_demo(layout: Layout, admin_conn: Any, host: str, fencing_file: Path,
             *extra: str) -> subprocess.CompletedProcess[str]:
    """`vmha demo` killing ``host`` with two servers on it and none elsewhere, as tools/demo runs it; the host
    powered on and restored afterwards if the demo died before doing so."""
    python = sys.executable
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "OS_CLOUD": "vmha-admin"}
    try:
        return subprocess.run(
            [python, "-m", "vmha", "demo", "--host", host, "--servers", "2", "--bystanders", "0", "--timeout", "240",
             "--kill-command", f"{python} -m tests.cloud kill-host {{host}}",
             "--start-command", f"{python} -m tests.cloud start-host {{host}}",
             "--coordination-url", layout.etcd_url.replace("http://", "etcd3+http://"),
             "--fencing-file", str(fencing_file), *extra],
            env=env, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
    finally:
        bmc = power_driver(load_fencing_config(fencing_file)[host])
        if bmc.power_state() is PowerState.OFF:  # the demo died before powering it on
            bmc.power_on()
        if not helpers.host_is_running(layout, host):  # the demo died before restoring it
            helpers.restore_host(layout, admin_conn, host)


def test_the_demo_detects_fences_and_recovers_the_killed_host(cloud_layout: Layout, admin_conn: Any) -> None:
    done = run_demo(cloud_layout, admin_conn, HOST, cloud_layout.fencing_yaml)
    out = done.stdout
    assert done.returncode == 0, out[-6000:] + done.stderr[-4000:]
    segment = re.search(r"\[heat\]\s+segment (vmha-demo-\w+) over", out)
    assert segment, out[-6000:]
    assert re.search(rf"\[monitor\]\s+vmha monitor host on ([\w-]+, )*{HOST}(, [\w-]+)* \(", out)
    assert re.search(rf"\[failure\]\s+killing {HOST} .*its nova-compute and its host monitor", out)
    evidence = re.search(rf"\[detection\]\s+leader ([\w-]+) reports {HOST}, evidence: (.+)$", out, re.MULTILINE)
    assert evidence, out[-6000:]
    assert evidence.group(1) != HOST
    assert re.search(r"BMC|Nova|nova-compute", evidence.group(2))
    assert re.search(rf"\[detection\]\s+vmha received COMPUTE_HOST \S+ from vmha-monitor/host@{evidence.group(1)}", out)
    assert re.search(rf"\[fencing\]\s+{HOST} powered off through its BMC \(redfish http://\S+\): the BMC confirms "
                     r"power off", out), out[-6000:]
    rows = _final_table(out)
    assert len(rows) == 2
    for row in rows:
        assert (row["OLD HOST"], row["STATE"]) == (HOST, "ACTIVE")
        assert row["NEW HOST"] not in (HOST, "-")
    assert re.search(r"^recovery time: \d+\.\d s ", out, re.MULTILINE)
    assert re.search(r"^vmha's notification: (finished|failed);", out, re.MULTILINE)
    for phase in ("[isolation]", "[evacuation]", "[cleanup]    stopping the host monitors",
                  f"[cleanup]    {HOST} powered on through its BMC"):
        assert phase in out
    assert not _monitors_of(segment.group(1))
    assert _power(cloud_layout, HOST) is PowerState.ON
    service = helpers.compute_service(admin_conn, HOST)
    assert (service.state, service.status, service.is_forced_down) == ("up", "enabled", False)
    assert not [server for server in admin_conn.compute.servers() if server.name.startswith("vmha-demo-")]
    assert not [stack for stack in admin_conn.orchestration.stacks() if stack.name.startswith("vmha-demo-")]
