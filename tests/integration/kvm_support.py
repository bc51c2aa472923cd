"""Real guests for the monitor tests: the harness's tiny guest (tests/cloud/guest.py) booted as persistent
domains of the local cloud's libvirtd with the system QEMU driver, named and wired as Nova names them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libvirt
import libvirt_qemu
import pytest

from tests.cloud import guest, qemu_libvirtd
from tests.cloud.layout import Layout
from tests.monitors_support import queue_bodies, remove_domains, wait_until

_LOG = logging.getLogger(__name__)
BOOT_SECONDS = 90.0  # under TCG with the machine's 2 vCPUs busy; about 4 s alone


@dataclass(frozen=True)
class Hypervisor:
    """The local cloud's QEMU libvirtd and the guest it boots."""

    layout: Layout
    uri: str
    guest: guest.Guest
    domain_type: str


@pytest.fixture(scope="session")
def hypervisor(cloud_layout: Layout) -> Hypervisor:
    built = guest.build(cloud_layout)
    return Hypervisor(cloud_layout, qemu_libvirtd.uri(cloud_layout), built,
                      guest.accelerator(cloud_layout, built))


def agent(dom: Any, command: str, arguments: dict[str, Any] | None = None, timeout: int = 5) -> Any:
    """One guest agent command through libvirt (virDomainQemuAgentCommand); its ``return`` value."""
    request = {"execute": command, **({"arguments": arguments} if arguments else {})}
    return json.loads(libvirt_qemu.qemuAgentCommand(dom, json.dumps(request), timeout, 0))["return"]


def answers(dom: Any) -> bool:
    try:
        agent(dom, "guest-ping", timeout=1)
    except libvirt.libvirtError:
        return False
    return True


def guest_command(dom: Any, command: str) -> None:
    """Run ``/bin/vmha-guest COMMAND`` in the guest (stop-agent, panic, poweroff) through guest-exec."""
    agent(dom, "guest-exec", {"path": "/bin/vmha-guest", "arg": [command]})


def only_these(doms: list[Any]) -> str:
    """A socket_path_pattern for the introspective monitor matching these guests' agent channels alone: the
    QEMU libvirtd is shared by every test run on the machine, and a monitor must not watch another's guests."""
    return "|".join(re.escape(guest.agent_socket_path(dom.name())) for dom in doms)


def wait_for_events(zaqar: Any, queue: str, doms: list[Any], count: int, timeout: float = 60) -> list[Any]:
    """The queue's notifications about these guests once there are ``count`` (the instance monitor reports
    every domain of the shared QEMU libvirtd, other test runs' guests too)."""
    mine = {dom.UUIDString() for dom in doms}
    found: list[Any] = []

    def enough() -> bool:
        nonlocal found
        found = [body for body in queue_bodies(zaqar, queue) if body["payload"]["instance_uuid"] in mine]
        return len(found) >= count

    if not wait_until(enough, timeout, 0.25):
        raise AssertionError(f"{len(found)} of {count} notifications about {sorted(mine)} in {queue}: {found}")
    return found


def kill_qemu(hypervisor: Hypervisor, dom: Any) -> None:
    """SIGKILL the guest's QEMU process, as the kernel's OOM killer or a crash would end it."""
    os.kill(qemu_libvirtd.qemu_pid(hypervisor.layout, dom.name()), signal.SIGKILL)


@contextlib.contextmanager
def guests(hypervisor: Hypervisor, console_dir: Path, count: int = 0, *, uuids: tuple[str, ...] = (),
           metadata: tuple[str, ...] = ()) -> Iterator[list[Any]]:
    """``count`` guests (or one per given uuid), booted at once and yielded once every agent answers;
    ``metadata[i]``, if given, is guest i's libvirt metadata. Destroyed and undefined afterwards."""
    console_dir.mkdir(parents=True, exist_ok=True)
    conn = libvirt.open(hypervisor.uri)
    ids = uuids or tuple(str(uuid.uuid4()) for _ in range(count))
    domains: list[Any] = []
    try:
        started = time.monotonic()
        for index, guest_uuid in enumerate(ids):
            name = f"instance-{guest_uuid[:8]}"
            xml = guest.domain_xml(hypervisor.guest, name, guest_uuid, console_dir / f"{name}.log",
                                   domain_type=hypervisor.domain_type,
                                   metadata=metadata[index] if index < len(metadata) else "")
            dom = conn.defineXML(xml)
            domains.append(dom)
            dom.create()
        if not wait_until(lambda: all(answers(dom) for dom in domains), BOOT_SECONDS, 0.2):
            raise AssertionError(f"guest agents did not all answer within {BOOT_SECONDS:.0f} s; see {console_dir}")
        _LOG.warning("%d guests (%s) booted to their agents in %.1f s", len(domains), hypervisor.domain_type,
                     time.monotonic() - started)
        yield domains
    finally:
        remove_domains(domains)
        conn.close()
