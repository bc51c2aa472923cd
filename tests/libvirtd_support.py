"""A private libvirtd for the monitor tests: its own configuration, sockets and log in a temporary directory,
no loadable drivers (an empty LIBVIRT_DRIVER_DIR: only the built-in test and remote drivers, so it needs no
QEMU user, D-Bus or network tools), started, SIGKILLed and restarted by the test."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import libvirt

from tests.monitors_support import wait_until

LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
TEST_NAMESPACE = "http://libvirt.org/schemas/domain/test/1.0"


def node_xml(domains: dict[str, tuple[str, int]]) -> str:
    """A test-driver node file: per domain name, its uuid and libvirt state (1 running, 5 shut off)."""
    body = "".join(
        f"<domain type='test' xmlns:test='{TEST_NAMESPACE}'><name>{name}</name><uuid>{uuid}</uuid>"
        f"<memory>65536</memory><os><type>hvm</type></os><test:runstate>{state}</test:runstate></domain>\n"
        for name, (uuid, state) in domains.items())
    return f"<node>\n{body}</node>\n"


class PrivateLibvirtd:
    """One libvirtd serving the test driver over a unix socket in ``directory``.

    ``uri`` is the daemon's shared ``/default`` test instance: connections see each other's changes and
    events, and a restart resets it. ``file_uri(node_file)`` gives every connection its own instance, read
    from the node file when the connection opens (how the test shapes what a restarted daemon shows).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "run").mkdir(parents=True)
        (directory / "drivers").mkdir()
        self.config = directory / "libvirtd.conf"
        self.config.write_text("\n".join([
            f'unix_sock_dir = "{directory / "run"}"', 'unix_sock_ro_perms = "0700"', 'unix_sock_rw_perms = "0700"',
            'auth_unix_ro = "none"', 'auth_unix_rw = "none"', f'log_outputs = "3:file:{directory / "libvirtd.log"}"',
            ""]))
        self.uri = self._uri("/default")
        self._process: subprocess.Popen[bytes] | None = None

    def file_uri(self, node_file: Path) -> str:
        return self._uri(str(node_file))

    def _uri(self, path: str) -> str:
        return f"test+unix://{path}?socket={self.directory / 'run' / 'libvirt-sock'}"

    def start(self) -> None:
        """Start the daemon and wait until it serves the test driver."""
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LIBVIRT_DRIVER_DIR": str(self.directory / "drivers"),
               "XDG_RUNTIME_DIR": str(self.directory / "run"), "HOME": str(self.directory)}
        self._process = subprocess.Popen(
            [LIBVIRTD, "--config", str(self.config), "--pid-file", str(self.directory / "libvirtd.pid")],
            env=env, stdout=subprocess.DEVNULL, stderr=(self.directory / "libvirtd.err").open("wb"))
        if not wait_until(self._serving, 30, 0.1):
            raise AssertionError(f"libvirtd did not start; see {self.directory}/libvirtd.err and libvirtd.log")

    def _serving(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise AssertionError(f"libvirtd exited {self._process.returncode}; see {self.directory}/libvirtd.err")
        try:
            libvirt.openReadOnly(self.uri).close()
        except libvirt.libvirtError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the daemon (a crash: no goodbye to its clients) and reap it."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


@contextlib.contextmanager
def private_libvirtd(directory: Path) -> Iterator[PrivateLibvirtd]:
    """A started private libvirtd, killed afterwards whatever happens."""
    daemon = PrivateLibvirtd(directory)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.kill()
