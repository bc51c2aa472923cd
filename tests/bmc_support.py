"""A BMC emulator of a host's own (``tests/cloud/bmc_emulator.py``) on free ports, beside the cloud's shared one:
for the tests that silence or restart a BMC without touching the emulator every other test uses."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.cloud.layout import BMC_USER, Layout
from tests.monitors_support import wait_until
from vmha.fencing import BmcAccess, Protocol

EMULATOR = Path(__file__).resolve().parent / "cloud" / "bmc_emulator.py"


@dataclass
class OwnBmc:
    """The emulator of ``host``'s BMC: Redfish and IPMI on ports of its own, ``password`` in ``workdir``."""

    layout: Layout
    host: str
    workdir: Path
    password: str
    redfish_port: int
    ipmi_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def redfish_url(self) -> str:
        return f"http://127.0.0.1:{self.redfish_port}"

    def ipmi(self, timeout_seconds: float) -> BmcAccess:
        """How to reach it over IPMI."""
        return BmcAccess(self.host, Protocol.IPMI, "127.0.0.1", BMC_USER, self.password, port=self.ipmi_port,
                         timeout_seconds=timeout_seconds)

    def start(self) -> None:
        """Start the emulator (the host powered on) and wait until it answers; its IPMI port is bound by then."""
        with (self.workdir / "bmc.log").open("ab") as log:
            self.process = subprocess.Popen([self.layout.bin("python"), str(EMULATOR), self.host,
                                             str(self.redfish_port), str(self.ipmi_port), BMC_USER, self.password,
                                             str(self.workdir)], stdout=log, stderr=subprocess.STDOUT)
        assert wait_until(lambda: _answers(self.redfish_url), 60, 0.2), (self.workdir / "bmc.log").read_text()

    def stop(self) -> None:
        """Kill the emulator, as a BMC that goes silent or restarts loses every session it held."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)


@contextlib.contextmanager
def own_bmc(layout: Layout, host: str, workdir: Path) -> Iterator[OwnBmc]:
    """The started emulator of ``host``'s own BMC; killed on the way out if it still runs."""
    workdir.mkdir()
    password = uuid.uuid4().hex
    (workdir / "password").write_text(password + "\n")
    bmc = OwnBmc(layout, host, workdir, password, _free_port(socket.SOCK_STREAM), _free_port(socket.SOCK_DGRAM))
    try:
        bmc.start()
        yield bmc
    finally:
        bmc.stop()


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{url}/redfish/v1", timeout=2).status_code < 500
    return False
