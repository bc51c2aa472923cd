"""Bring the local cloud up and down, idempotently, and report its health."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.cloud import bootstrap, catalog, guest, infra, kvm_hosts, procs, qemu_libvirtd, services
from tests.cloud.layout import COMPUTE_HOSTS, KVM_HOSTS, Layout

INFRA = ("mariadb", "postgresql", "redis", "etcd", "rabbitmq")


@dataclass(frozen=True)
class Health:
    """One line of `status`: a process and whether it runs and serves."""

    name: str
    running: bool
    serving: bool | None  # None: no HTTP endpoint to ask


def _phase(report: Callable[[str], None], started: float, message: str) -> None:
    report(f"{time.monotonic() - started:6.1f} s  {message}")


def up(layout: Layout, fresh: bool = False, report: Callable[[str], None] = print, hypervisor: str = "fake") -> None:
    """Start everything that is not running; the first time (or with ``fresh``) set it all up. ``hypervisor``
    ``kvm`` adds the kvm profile's hosts (kept by later runs of ``up`` until ``up --fresh``)."""
    started = time.monotonic()
    missing = infra.missing_packages()
    if missing:
        raise procs.StartError(f"missing Debian packages: {' '.join(missing)} (apt-get install them)")
    if fresh:
        down(layout, report=lambda _: None)
        for path in (layout.data, layout.etc, layout.state, layout.run, layout.root / "wsgi"):
            shutil.rmtree(path, ignore_errors=True)
    layout.root.mkdir(parents=True, exist_ok=True)
    bootstrap.install_venv(layout)
    _phase(report, started, "OpenStack virtualenv ready")
    infra.start_all(layout)
    _phase(report, started, "MariaDB, PostgreSQL, Redis, etcd, RabbitMQ up")
    domain_type = guest.accelerator(layout, guest.build(layout, report), report)
    qemu_libvirtd.start(layout)
    accel = "KVM" if domain_type == "kvm" else "TCG, no usable KVM"
    _phase(report, started, f"tiny guest ready (domain type {domain_type}: {accel}), libvirtd with the QEMU driver up")
    bootstrap.write_configs(layout)
    catalog.write_clouds_yaml(layout)
    bootstrap.write_fencing_config(layout)
    first_time = not (layout.state / "bootstrapped").exists()
    if first_time:
        bootstrap.sync_databases(layout)
        _phase(report, started, "databases created, Keystone bootstrapped")
    everything = services.all_services(layout)
    services.start(layout, everything[:1])
    services.wait_ready(layout, everything[:1])
    if first_time:
        catalog.create_catalog(layout)
        _phase(report, started, "Keystone catalog, service users, demo project")
    services.start(layout, everything[1:])
    services.wait_ready(layout, everything[1:])
    _phase(report, started, "all APIs answer")
    wait_compute_hosts(layout)
    catalog.lift_compute_quotas(layout)
    if first_time:
        catalog.create_image_and_flavor(layout)
        (layout.state / "bootstrapped").write_text("ok\n")
    hosts = len(COMPUTE_HOSTS)
    if hypervisor == "kvm" or kvm_hosts.enabled(layout):
        up_kvm(layout, report)
        hosts += len(KVM_HOSTS)
        _phase(report, started, f"kvm profile: {', '.join(KVM_HOSTS)} up (Nova's libvirt driver)")
    _phase(report, started, f"READY: {hosts} compute hosts up; clouds.yaml {layout.clouds_yaml}")


def up_kvm(layout: Layout, report: Callable[[str], None] = print) -> None:
    """Add the kvm profile to a running cloud (no-op for what runs): the fake hosts' image is marked for the
    fake hypervisor first, so no fake server ever lands on a kvm host; then the kvm hosts, their image and
    flavor."""
    kvm_hosts.isolate_fake_image(layout)
    kvm_hosts.start(layout, report)
    wait_compute_hosts(layout, KVM_HOSTS)
    kvm_hosts.create_image_and_flavor(layout)
    kvm_hosts.profile_marker(layout).write_text("kvm\n")


def wait_compute_hosts(layout: Layout, hosts: tuple[str, ...] = COMPUTE_HOSTS, timeout: float = 180.0) -> None:
    """Wait until every nova service is up and every one of ``hosts`` is a mapped, up hypervisor."""
    conn = catalog.connect(layout)
    expected = {"nova-conductor", "nova-scheduler", *(f"nova-compute@{h}" for h in hosts)}

    def services_up() -> bool:
        up_now = {f"{s.binary}@{s.host}" if s.binary == "nova-compute" else s.binary
                  for s in conn.compute.services() if s.state == "up"}
        return expected <= up_now

    if not procs.wait_until(services_up, timeout, 1.0):
        raise procs.StartError("nova services did not all report up; see log/nova-*.log")
    bootstrap.discover_compute_hosts(layout)

    def hypervisors_up() -> bool:
        names = {h.name for h in conn.compute.hypervisors() if h.state == "up"}
        return set(hosts) <= names

    if not procs.wait_until(hypervisors_up, timeout, 1.0):
        raise procs.StartError(f"compute hosts {', '.join(hosts)} did not all appear as hypervisors")


def down(layout: Layout, keep_infra: bool = False, report: Callable[[str], None] = print) -> None:
    """Stop every OpenStack process (in parallel), then the infrastructure; data stays for the next `up`."""
    qemu_libvirtd.destroy_all(layout)  # its guests' QEMU processes would outlive it
    kvm_hosts.destroy_guests(layout)
    names = [name for name in procs.running_services(layout) if name not in INFRA]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: procs.stop(layout, name), names))
    if not keep_infra:
        infra.stop_all(layout)
    report(f"stopped {len(names)} OpenStack processes" + ("" if keep_infra else " and the infrastructure"))


def health(layout: Layout) -> list[Health]:
    kvm = kvm_hosts.enabled(layout)
    daemons = (*INFRA, qemu_libvirtd.NAME, *(kvm_hosts.libvirtd_names() if kvm else ()))
    rows = [Health(name, procs.is_running(layout, name), None) for name in daemons]
    for service in [*services.all_services(layout), *(kvm_hosts.all_services(layout) if kvm else [])]:
        running = procs.is_running(layout, service.name)
        serving = procs.http_answers(service.ready_url) if service.ready_url and running else None
        rows.append(Health(service.name, running, serving))
    return rows


KILLS_KEPT_SECONDS = 900.0
"""How long a service killed on purpose (``procs.kill``: a host failure under test) is left down by
``needs_up``: another test session on the same cloud is probably using that failure; later it is a leftover."""


def needs_up(layout: Layout) -> bool:
    """Something is down or not serving that no test session killed on purpose in the last
    ``KILLS_KEPT_SECONDS``: a session starting on a shared cloud brings only that back, never a host another
    session's recovery is working on."""
    return any(not (row.running and row.serving is not False)
               and not procs.killed_on_purpose(layout, row.name, KILLS_KEPT_SECONDS) for row in health(layout))
