"""Killing and restoring a host through the caller's commands, and putting it back into service in Nova."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Iterable
from typing import Any

import openstack

from vmha.cloud.segments import SegmentError, segments
from vmha.fencing import PowerState, load_fencing_config, power_driver

_POLL_SECONDS = 1.0


class DemoError(Exception):
    """The demo cannot go on; the message is for the operator."""


def run_command(template: str, host: str) -> None:
    """Run ``template`` with ``{host}`` filled in; DemoError with its output when it fails."""
    finish(launch(template, host))


def launch(template: str, host: str) -> subprocess.Popen[str]:
    """Start ``template`` with ``{host}`` filled in; ``finish`` waits for it."""
    argv = shlex.split(template.replace("{host}", host))
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    except OSError as error:
        raise DemoError(f"{argv[0]}: {error}") from error


def finish(command: subprocess.Popen[str], timeout: float = 300.0) -> None:
    """Wait for a launched command; DemoError with its output when it fails or outlasts ``timeout``."""
    argv = command.args if isinstance(command.args, list) else [str(command.args)]
    try:
        stdout, stderr = command.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        command.kill()
        command.communicate()
        raise DemoError(f"{' '.join(argv)}: {error}") from error
    if command.returncode != 0:
        raise DemoError(f"{' '.join(argv)} exited {command.returncode}: {(stderr or stdout).strip()[-500:]}")


def compute_service(conn: Any, host: str) -> Any:
    """The nova-compute service of ``host``; DemoError if Nova has none."""
    for service in conn.compute.services(host=host, binary="nova-compute"):
        return service
    raise DemoError(f"Nova has no nova-compute service on {host}")


def taken_hosts(conn: Any) -> dict[str, str]:
    """Each host some vmha segment holds, with that segment's name; DemoError if a segment is invalid."""
    try:
        return {host: segment.name for segment in segments(conn) for host in segment.members}
    except SegmentError as error:
        raise DemoError(f"the cloud's vmha segments: {error}") from error


def free_hosts(conn: Any, taken: dict[str, str]) -> list[str]:
    """The hosts whose nova-compute is up and enabled and that are not in ``taken``, sorted."""
    return sorted(service.host for service in conn.compute.services(binary="nova-compute")
                  if service.state == "up" and service.status == "enabled" and service.host not in taken)


def image_hosts(conn: Any, image: Any) -> set[str]:
    """The compute hosts whose hypervisor can run ``image`` (``runnable`` over Nova's hypervisors)."""
    found = [(hypervisor.service_details["host"], hypervisor.hypervisor_type)
             for hypervisor in conn.compute.hypervisors(details=True)]
    return runnable(found, image.hypervisor_type)


def runnable(hypervisors: Iterable[tuple[str, str]], wanted: str | None) -> set[str]:
    """The hosts of ``hypervisors`` (host, hypervisor type) on which Nova's ImagePropertiesFilter places an image
    asking for the hypervisor type ``wanted``: those of that type, compared as Nova does without case (libvirt's
    "QEMU" is the image's "qemu"); every host when the image asks for none."""
    return {host for host, kind in hypervisors if not wanted or kind.lower() == wanted.lower()}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; DemoError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise DemoError(f"{what} not within {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def restore(conn: Any, host: str, start_command: str, timeout: float = 180.0) -> None:
    """Start the host again with ``start_command`` and put it back into service."""
    run_command(start_command, host)
    return_to_service(conn, host, timeout)


def power_on(host: str, fencing_file: str) -> str:
    """Power the host on through its BMC if it reports the power off (a fenced host stays off); what was done."""
    access = load_fencing_config(fencing_file).get(host) if fencing_file else None
    if access is None:
        return f"{host} has no BMC in the fencing file: its power is left as it is"
    driver = power_driver(access)
    if driver.power_state() is PowerState.ON:
        return f"{host}'s BMC ({access.protocol.value} {access.address}) reports the power on already"
    driver.power_on()
    if driver.power_state() is not PowerState.ON:
        raise DemoError(f"{host}'s BMC ({access.protocol.value} {access.address}) still reports the power off")
    return f"{host} powered on through its BMC ({access.protocol.value} {access.address})"


def return_to_service(conn: Any, host: str, timeout: float = 180.0) -> None:
    """Lift forced_down from a restarted host, wait for its first heartbeat, enable it.

    Nova refuses to lift forced_down while the host's evacuation records are not yet completed (the
    restarted nova-compute completes them as it starts), so that call is repeated until accepted. Once
    un-forced, Nova calls the service `up` on the dead process's last heartbeat for `service_down_time`
    and its scheduler drops the host when that ages out: the host counts as back only when its record is
    written again after the un-force, which only the new process does. Enabling only then keeps Placement
    from leaving the host disabled.
    """
    service = compute_service(conn, host)

    def unforced() -> bool:
        try:
            conn.compute.update_service_forced_down(service, host, "nova-compute", forced=False)
        except openstack.exceptions.BadRequestException:
            return False
        return True

    wait_for(unforced, timeout, f"{host}: lifting forced_down")
    unforced_at = compute_service(conn, host).updated_at

    def heartbeating() -> bool:
        latest = compute_service(conn, host)
        return bool(latest.state == "up" and latest.updated_at != unforced_at)

    wait_for(heartbeating, timeout, f"{host}: nova-compute heartbeat")
    conn.compute.enable_service(service, host, "nova-compute")
