"""A network partition for one host: a network namespace the test makes, joined to the root namespace by a
veth pair with link-local addresses, and TCP relays that carry the namespace's traffic to the cloud.

The cloud listens on 127.0.0.1 only, which inside a namespace is the namespace's own loopback. So a relay in
the namespace listens on its 127.0.0.1 at the cloud's ports and forwards over the veth to a relay in the root
namespace, which forwards to the cloud's 127.0.0.1: a process in the namespace uses the cloud's usual URLs,
and all of its traffic crosses the veth. ``cut`` takes the namespace's end of the veth down: from then on the
namespace reaches nothing but itself. No packet ever leaves the machine: the namespace has no other route, and
a blackhole route in the root namespace catches whatever is still sent to the /30 once its link is gone.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.monitors_support import wait_until

ROOT = Path(__file__).resolve().parents[1]


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


def _free_subnet() -> str:
    """The first three octets and the base of a link-local /30 no interface or route here uses."""
    used = _ip("-o", "addr") + _ip("route")
    while True:
        subnet = f"169.254.{random.randint(1, 250)}.{4 * random.randint(1, 62)}"  # never 169.254.169.254
        prefix = subnet.rsplit(".", 1)[0]
        if f"{prefix}." not in used:
            return subnet


class Partition:
    """The namespace ``vmha-part-RUN`` and its veth; ``wrapper`` runs a command inside it."""

    def __init__(self, run: str, ports: Sequence[int], workdir: Path) -> None:
        self.namespace, self.ports, self.workdir = f"vmha-part-{run}", list(ports), workdir
        self._outside, self._inside = f"vp{run[:8]}o", f"vp{run[:8]}i"
        base = _free_subnet()
        network, last = base.rsplit(".", 1)
        self.subnet = f"{base}/30"
        self.root_address, self.address = f"{network}.{int(last) + 1}", f"{network}.{int(last) + 2}"
        self.wrapper = ("ip", "netns", "exec", self.namespace)
        self._relays: list[subprocess.Popen[bytes]] = []

    def create(self) -> None:
        """Make the namespace, the veth and its routes, and start both relays."""
        _ip("route", "add", "blackhole", self.subnet, "metric", "4000")
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self._outside, "type", "veth", "peer", "name", self._inside, "netns", self.namespace)
        _ip("addr", "add", f"{self.root_address}/30", "dev", self._outside)
        _ip("link", "set", self._outside, "up")
        for command in (("link", "set", "lo", "up"), ("addr", "add", f"{self.address}/30", "dev", self._inside),
                        ("link", "set", self._inside, "up")):
            _ip("-n", self.namespace, *command)
        self._relay("outside", (), self.root_address, "127.0.0.1")
        self._relay("inside", self.wrapper, "127.0.0.1", self.root_address)

    def _relay(self, name: str, wrapper: Sequence[str], listen: str, target: str) -> None:
        log = self.workdir / f"relay-{name}.log"
        with log.open("wb") as out:
            self._relays.append(subprocess.Popen(
                [*wrapper, sys.executable, "-m", "tests.tcp_relay", listen, target, *map(str, self.ports)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT))
        assert wait_until(lambda: "relaying" in log.read_text(), 30, 0.1), log.read_text()

    def cut(self) -> None:
        """Take the namespace's end of the veth down: the partition."""
        _ip("-n", self.namespace, "link", "set", self._inside, "down")

    def delete(self) -> None:
        """Stop the relays, delete the namespace (and with it the veth pair) and the blackhole route."""
        for relay in self._relays:
            relay.kill()
            relay.wait()
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "delete", self.namespace)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "delete", self._outside)  # gone with the namespace unless that failed
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("route", "delete", "blackhole", self.subnet, "metric", "4000")


@contextlib.contextmanager
def partition(run: str, ports: Sequence[int], workdir: Path) -> Iterator[Partition]:
    """A created partition (not yet cut), deleted afterwards whatever happens."""
    made = Partition(run, ports, workdir)
    try:
        made.create()
        yield made
    finally:
        made.delete()
