"""Helpers for the monitor tests and benchmark: real qemu-ga agents, libvirt test-driver domains with agent
channels, monitor settings, and reading a Zaqar queue."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.cloud import helpers
from vmha.contracts import Settings, parse_settings
from vmha.monitors import runner

TEST_URI = "test:///default"
QEMU_GA = shutil.which("qemu-ga") or "/usr/sbin/qemu-ga"
DOMAIN_XML = """<domain type='test'>
  <name>{name}</name><uuid>{uuid}</uuid><memory>65536</memory><os><type>hvm</type></os>
  <devices>
    <channel type='unix'>
      <source mode='bind' path='{socket}'/><target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
  </devices>
</domain>"""


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


@dataclass
class Agent:
    """One real qemu-ga listening on a unix socket."""

    socket: Path
    process: subprocess.Popen[bytes]

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)


@contextlib.contextmanager
def qemu_agents(directory: Path, count: int) -> Iterator[list[Agent]]:
    """Start ``count`` qemu-ga processes (``-m unix-listen``), stop them all afterwards."""
    agents = []
    try:
        for index in range(count):
            state = directory / f"qga-{index}"
            state.mkdir(parents=True)
            socket = state / "agent.sock"
            process = subprocess.Popen(
                [QEMU_GA, "-m", "unix-listen", "-p", str(socket), "-t", str(state), "-f", str(state / "pid")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            agents.append(Agent(socket, process))
        if not wait_until(lambda: all(agent.socket.exists() for agent in agents), 30):
            raise AssertionError("qemu-ga sockets did not appear")
        yield agents
    finally:
        for agent in agents:
            agent.process.send_signal(signal.SIGCONT)
            agent.process.kill()
            agent.process.wait()


@contextlib.contextmanager
def agent_domains(sockets: list[Path], prefix: str = "vmha") -> Iterator[list[Any]]:
    """Running, persistent domains of the in-process libvirt test driver, one per agent socket."""
    conn = libvirt.open(TEST_URI)
    tag = uuid.uuid4().hex[:6]
    domains = []
    try:
        for index, socket in enumerate(sockets):
            dom = conn.defineXML(DOMAIN_XML.format(name=f"{prefix}-{tag}-{index}", uuid=uuid.uuid4(), socket=socket))
            dom.create()
            domains.append(dom)
        yield domains
    finally:
        remove_domains(domains)
        conn.close()


def remove_domains(domains: list[Any]) -> None:
    """Destroy and undefine each domain, whatever state it is in."""
    for dom in domains:
        with contextlib.suppress(libvirt.libvirtError):
            if dom.isActive():
                dom.destroy()
        with contextlib.suppress(libvirt.libvirtError):
            dom.undefine()


@contextlib.contextmanager
def monitor_thread(kind: str, settings: Settings) -> Iterator[None]:
    """The ``kind`` monitor running in a thread (as ``vmha monitor KIND`` runs it) until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(kind, settings), kwargs={"stop": stop})
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def monitor_settings(state_dir: Path, queue: str = "vmha-notifications", **monitor: Any) -> Settings:
    """Settings for a monitor on host compute1 using ``state_dir``; ``monitor`` overrides monitor.* fields."""
    section: dict[str, Any] = {"hostname": "compute1", "state_dir": str(state_dir), "libvirt_uri": TEST_URI,
                               "log_format": "text", "log_level": "DEBUG"}
    for key, value in monitor.items():
        section[key] = {**section.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_settings({"queues": {"notifications": queue}, "monitor": section}, environ={})


def queue_bodies(zaqar: Any, queue: str) -> list[dict[str, Any]]:
    """Every message body in the queue, oldest first."""
    bodies, seen = [], set()
    # Follow every page; this Zaqar hands the last message out again and again when it is alone on its page.
    for message in zaqar.queue(queue, auto_create=False).messages(echo=True, limit=20).stream():
        if message.id in seen:
            break
        seen.add(message.id)
        bodies.append(message.body)
    return bodies


def wait_for_bodies(zaqar: Any, queue: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The queue's bodies once there are at least ``count`` (fails after ``timeout`` seconds)."""
    bodies: list[dict[str, Any]] = []

    def enough() -> bool:
        nonlocal bodies
        bodies = queue_bodies(zaqar, queue)
        return len(bodies) >= count

    if not wait_until(enough, timeout, 0.25):
        raise AssertionError(f"{len(bodies)} of {count} messages in {queue} after {timeout} s: {bodies}")
    return bodies


@contextlib.contextmanager
def zaqar_queue(zaqar: Any, prefix: str = "vmha-monitor-test") -> Iterator[str]:
    """A unique Zaqar queue name, the queue deleted afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        zaqar.queue(name, auto_create=False).delete()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class SilentServer:
    """A loopback TCP server that accepts every connection and never answers (a hung service)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed
            while True:
                self.accepted.append(self._listener.accept()[0])

    def close(self) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (close alone does not)
        self._listener.close()
        self._thread.join(10)
        for connection in self.accepted:
            connection.close()


def wait_for_touches(path: Path, count: int, timeout: float = 30) -> None:
    """Wait until ``path`` (a monitor's health file) has been touched ``count`` more times: that many loops."""
    def touched_since(before: int) -> Callable[[], bool]:
        return lambda: path.stat().st_mtime_ns != before

    for _ in range(count):
        if not wait_until(touched_since(path.stat().st_mtime_ns), timeout, 0.02):
            raise AssertionError(f"{path} not touched in {timeout} s")


@pytest.fixture
def zaqar(cloud_layout: Any, admin_conn: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """python-zaqarclient on the admin session; monitors find the same cloud (vmha-admin) via clouds.yaml."""
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(cloud_layout.clouds_yaml))
    return helpers.zaqar(admin_conn)


@pytest.fixture
def queue(zaqar: Any) -> Iterator[str]:
    """A unique Zaqar queue, deleted after the test."""
    with zaqar_queue(zaqar) as name:
        yield name
