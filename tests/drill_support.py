"""The stage of `vmha drill` on the local cloud, for its integration test and its benchmark: a real `vmha
gateway` registered in a Keystone region of its own, a two-host segment, `vmha monitor host` on both hosts,
and the drilled host's hardware (``PoweredHost``).

The BMC emulator's power-off only turns a libvirt test domain off: the fake host's nova-compute and host
monitor go on. ``PoweredHost`` plays the host's hardware: when its BMC reports the power off it SIGKILLs the
host's nova-compute and its host monitor at once, when the BMC reports the power on it starts both again, as
a real host boots its services. Everything else is vmha's.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS, REGION, Layout
from tests.integration.cli_support import clouds_yaml, gateway_in_catalog
from tests.integration.recovery_support import VMHA, Recoveries, segment
from vmha.demo.host_monitors import HostMonitors, MonitorSetup
from vmha.demo.hosts import free_hosts, return_to_service, taken_hosts
from vmha.fencing import PowerState, load_fencing_config, power_driver

PHASE_HEADER = ("PHASE", "SECONDS", "OBJECTIVE", "MET")
SERVER_HEADER = ("SERVER", "FROM", "TO", "STATE", "EVACUATIONS", "ONCE")
_URL = re.compile(r'"message": "http endpoint listening", "url": "([^"]+)"')


class PoweredHost:
    """The fake host's hardware: follows its BMC's power state (see the module docstring)."""

    def __init__(self, layout: Layout, host: str, monitors: HostMonitors) -> None:
        self._layout, self._host, self._monitors = layout, host, monitors
        self._bmc = power_driver(load_fencing_config(layout.fencing_yaml)[host])
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self.cuts = 0
        self._thread = threading.Thread(target=self._follow, name=f"powered-{host}", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        powered = True
        while not self._stop.wait(0.3):
            try:
                state = self._bmc.power_state()
                if powered and state is PowerState.OFF:
                    self._monitors.kill(self._host)
                    helpers.kill_host(self._layout, self._host)
                    powered, self.cuts = False, self.cuts + 1
                elif not powered and state is PowerState.ON:
                    helpers.start_host(self._layout, self._host)
                    self._monitors.start([self._host])
                    powered = True
            except Exception as error:  # the caller reports it
                self.errors.append(error)
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


@dataclass(frozen=True)
class Stage:
    """A segment ready to drill ``host``: its name, the gateway's Keystone region, a clouds.yaml listing the
    cloud's region (the default) and the gateway's, the powered host."""

    host: str
    segment: str
    region: str
    clouds: Path
    powered: PoweredHost
    monitors: HostMonitors


@contextlib.contextmanager
def stage(conn: Any, layout: Layout, folder: Path, hosts: tuple[str, str],
          metadata: dict[str, str]) -> Iterator[Stage]:
    """The stage over ``hosts`` (the first is drilled), segment ``metadata`` added to auto recovery; afterwards
    the host is powered on, running and in service whatever the drill left."""
    recoveries = Recoveries(folder, conn, layout, host_failure={"evacuate_all_instances": False,
                                                                "mass_failure_share": 1})
    (folder / "monitors").mkdir()
    try:
        process = recoveries.start()
        recoveries.wait_ready(process)
        url = _URL.search(recoveries.log_of(process))
        assert url is not None, "the gateway logged no endpoint URL"
        with gateway_in_catalog(layout, conn, url.group(1), folder) as (_, choosing), \
                segment(conn, hosts, {"vmha:recovery_method": "auto", **metadata}, "drill") as aggregate:
            region = yaml.safe_load(Path(choosing.env["OS_CLIENT_CONFIG_FILE"]).read_text())[
                "clouds"]["vmha-admin"]["regions"][0]
            (folder / "drill").mkdir()
            both = clouds_yaml(layout, (REGION, region), folder / "drill")
            setup = MonitorSetup(layout.etcd_url.replace("http://", "etcd3+http://"), str(layout.fencing_yaml),
                                 recoveries.queues["notifications"], aggregate.name, "vmha-admin", 10.0)
            monitors = HostMonitors(setup, folder / "monitors")
            powered = None
            try:
                monitors.start(list(hosts))
                monitors.wait_ready(60)
                powered = PoweredHost(layout, hosts[0], monitors)
                yield Stage(hosts[0], aggregate.name, region, both, powered, monitors)
            finally:
                if powered is not None:
                    powered.stop()
                monitors.stop()
                put_back(layout, conn, hosts[0])
    finally:
        recoveries.close()


def free_pair(conn: Any) -> tuple[str, str] | None:
    """Two fake compute hosts up, enabled and in no segment, the first holding no server (the four hosts are
    shared with the other tests); None if there are not two now."""
    free = free_hosts(conn, taken_hosts(conn))
    held = {server.compute_host for server in conn.compute.servers(all_projects=True)}
    found = sorted((host for host in COMPUTE_HOSTS if host in free), key=lambda host: host in held)
    return (found[0], found[1]) if len(found) >= 2 and found[0] not in held else None


def in_service(conn: Any, host: str) -> bool:
    service = helpers.compute_service(conn, host)
    return bool(service.state == "up" and service.status == "enabled" and not service.is_forced_down)


def put_back(layout: Layout, conn: Any, host: str) -> None:
    """Whatever a drill left: the host powered on, running, un-forced and enabled."""
    off = power_driver(load_fencing_config(layout.fencing_yaml)[host]).power_state() is PowerState.OFF
    if off or not helpers.host_is_running(layout, host):
        helpers.restore_host(layout, conn, host)
    elif not in_service(conn, host):
        return_to_service(conn, host)


def drill(layout: Layout, *args: str, staged: Stage | None = None) -> subprocess.CompletedProcess[str]:
    """`vmha drill` as an operator runs it: a clouds.yaml (the stage's, else the cloud's), the fencing file, the
    stage's gateway region."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OS_", "VMHA_"))}
    env |= {"OS_CLIENT_CONFIG_FILE": str(staged.clouds if staged else layout.clouds_yaml), "OS_CLOUD": "vmha-admin"}
    chosen = ("--gateway-region", staged.region) if staged else ()
    return subprocess.run([VMHA, "drill", "--fencing-file", str(layout.fencing_yaml), *chosen, *args], env=env,
                          capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)


def rows(output: str, header: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of the table printed under ``header`` (columns two spaces or more apart)."""
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if tuple(re.split(r"\s{2,}", line.strip())) == header)
    found = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        found.append(dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=True)))
    return found
