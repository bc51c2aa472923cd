"""The kvm profile (`python -m tests.cloud up --hypervisor kvm`): compute hosts whose nova-compute runs Nova's
libvirt driver, their servers real QEMU guests booting the tiny guest (tests/cloud/guest.py).

Beside the fake hosts, each kvm host has its own libvirtd with the system QEMU driver (tests/cloud/qemu_libvirtd.py)
in its own mount and UTS namespace: own sockets, state and run directories, and the host's name as its hostname,
which libvirt's ``getHostname()`` answers and Nova names the compute node after. All kvm hosts share one
``instances_path`` directory, the shared storage Masakari requires: an evacuation rebuilds on the same files.
Each has a BMC emulator whose power-off destroys the guests of the host's libvirtd (tests/cloud/bmc_emulator.py).

The servers' image is the guest as Glance kernel (aki), ramdisk (ari) and a small machine image (ami) naming
them, with the guest agent's channel and ``hypervisor_type=qemu``; the fake hosts' image asks for
``hypervisor_type=fake``, so Nova's ImagePropertiesFilter keeps each kind of server on its own kind of host.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt

from tests.cloud import bootstrap, catalog, config, guest, procs, qemu_libvirtd, services
from tests.cloud.layout import KVM_HOSTS, Layout

IMAGE_NAME = "kvm-tiny-guest"
FLAVOR_NAME = "kvm-tiny"
GUEST_MEMORY_MIB = 128
TB_CACHE_MIB = 32  # TCG's translation cache; QEMU's default would hold ~100 MiB more per guest
CPU_ALLOCATION_RATIO = 8.0
"""16 one-vCPU guests per host of this 2-vCPU machine (Nova's default 4.0 fits 8): the recovery benchmark's
10 servers on one kvm host."""


def profile_marker(layout: Layout) -> Path:
    return layout.state / "kvm-profile"


def enabled(layout: Layout) -> bool:
    """Whether the cloud was brought up with the kvm profile (then `up`, `status` and `down` include it)."""
    return profile_marker(layout).exists()


def libvirtd_name(host: str) -> str:
    return f"libvirt-{host}"


def libvirt_uri(layout: Layout, host: str) -> str:
    return qemu_libvirtd.uri(layout, libvirtd_name(host))


def fencing_yaml(layout: Layout) -> Path:
    """vmha's fencing configuration of the kvm hosts' BMC emulators (Redfish), apart from the fake hosts' own:
    nothing that fences or benchmarks the fake hosts ever picks a kvm host."""
    return layout.root / "kvm-fencing.yaml"


def instances_path(layout: Layout) -> Path:
    return layout.state / "nova" / "kvm-instances"


def compute_config(layout: Layout, host: str, domain_type: str) -> config.Sections:
    """The host's compute.conf, read after the cloud's nova.conf: the libvirt driver on the host's libvirtd."""
    conf_dir = layout.etc / "nova" / host
    privsep = (f"{layout.bin('privsep-helper')} --config-file {layout.etc / 'nova' / 'nova.conf'} "
               f"--config-file {conf_dir / 'compute.conf'}")
    libvirt_section = {"virt_type": domain_type, "connection_uri": libvirt_uri(layout, host),
                       "cpu_mode": "custom", "cpu_models": guest.CPU_MODEL}
    if domain_type == "kvm":
        libvirt_section["cpu_model_extra_flags"] = "-svm"  # not offered by nested hosts (guest.CPU_MODEL)
    else:
        libvirt_section["tb_cache_size"] = str(TB_CACHE_MIB)
    return {
        "DEFAULT": {**config.nova_compute(host, layout)["DEFAULT"], "compute_driver": "libvirt.LibvirtDriver",
                    "instances_path": str(instances_path(layout)),
                    "cpu_allocation_ratio": str(CPU_ALLOCATION_RATIO)},
        "libvirt": libvirt_section,
        "nova_sys_admin": {"helper_command": privsep},  # root already: no sudo, the venv's helper
    }


def all_services(layout: Layout) -> list[services.Service]:
    """The kvm hosts' nova-computes and BMC emulators (their libvirtds are started by ``start``)."""
    bmcs = [services.bmc_service(layout, host) for host in KVM_HOSTS]
    bmcs = [services.Service(bmc.name, (*bmc.argv, libvirt_uri(layout, host)), bmc.env, bmc.ready_url)
            for bmc, host in zip(bmcs, KVM_HOSTS, strict=True)]
    return [*(services.compute_service(layout, host) for host in KVM_HOSTS), *bmcs]


def start(layout: Layout, report: Callable[[str], None] = print) -> None:
    """Start the kvm hosts' libvirtds, then their nova-computes and BMCs (no-op for what already runs)."""
    if shutil.which("qemu-img") is None:
        raise procs.StartError("missing Debian package: qemu-utils (Nova's libvirt driver runs qemu-img)")
    built = guest.build(layout, report)
    domain_type = guest.accelerator(layout, built, report)
    instances_path(layout).mkdir(parents=True, exist_ok=True)
    bootstrap.write_fencing_config(layout, KVM_HOSTS, fencing_yaml(layout))
    for host in KVM_HOSTS:
        qemu_libvirtd.start(layout, libvirtd_name(host), hostname=host)
        config.write_ini(layout.etc / "nova" / host / "compute.conf", compute_config(layout, host, domain_type))
        compute_id = layout.etc / "nova" / host / "compute_id"
        if not compute_id.exists():
            compute_id.write_text(str(uuid.uuid4()))
    everything = all_services(layout)
    services.start(layout, everything)
    services.wait_ready(layout, everything)


def isolate_fake_image(layout: Layout) -> None:
    """Mark the fake hosts' image for the fake hypervisor in a cloud made before the kvm profile existed."""
    conn = catalog.connect(layout)
    fake = conn.image.find_image(catalog.IMAGE_NAME, ignore_missing=False)
    if fake.properties.get("hypervisor_type") != "fake":
        conn.image.update_image(fake, hypervisor_type="fake")


def destroy_guests(layout: Layout) -> None:
    """Destroy and undefine every guest of the kvm hosts' libvirtds (QEMU outlives its daemon)."""
    for host in KVM_HOSTS:
        qemu_libvirtd.destroy_all(layout, libvirtd_name(host))


def libvirtd_names() -> list[str]:
    return [libvirtd_name(host) for host in KVM_HOSTS]


def create_image_and_flavor(layout: Layout) -> None:
    """The guest as Glance kernel, ramdisk and machine image, and a flavor sized for it (idempotent)."""
    conn = catalog.connect(layout)
    if conn.image.find_image(IMAGE_NAME) is None:
        built = guest.build(layout)
        kernel = _image(conn, f"{IMAGE_NAME}-kernel", "aki", built.kernel.read_bytes())
        ramdisk = _image(conn, f"{IMAGE_NAME}-ramdisk", "ari", built.initrd.read_bytes())
        _image(conn, IMAGE_NAME, "ami", bytes(1024 * 1024), kernel_id=kernel.id, ramdisk_id=ramdisk.id,
               os_command_line=built.cmdline, hw_qemu_guest_agent="yes", hypervisor_type="qemu")
    if conn.compute.find_flavor(FLAVOR_NAME) is None:
        conn.compute.create_flavor(name=FLAVOR_NAME, vcpus=1, ram=GUEST_MEMORY_MIB, disk=1)


def _image(conn: Any, name: str, disk_format: str, data: bytes, **properties: str) -> Any:
    return conn.image.create_image(name=name, disk_format=disk_format, container_format=disk_format,
                                   visibility="public", data=data, allow_duplicates=True, **properties)


def domains(layout: Layout, host: str) -> list[str]:
    """Names of the running guests of the host's libvirtd."""
    conn = libvirt.open(libvirt_uri(layout, host))
    try:
        return [dom.name() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    finally:
        conn.close()
