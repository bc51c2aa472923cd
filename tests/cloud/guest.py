"""The tiny real guest of the KVM tests: a Debian cloud kernel and an initramfs holding busybox and qemu-ga.

Built from Debian packages only: the kernel package ``linux-image-cloud-amd64`` names is fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` (never installed); busybox (busybox-static) and
qemu-ga (qemu-guest-agent, with the shared libraries ``ldd`` lists) are copied from the machine. The guest
boots in a few seconds to its agent on the virtio-serial port ``org.qemu.guest_agent.0`` and does nothing
else. Cached under ``.cloud/guest/<key>/``, ``key`` a digest of every input (kernel package and version, the
files copied, the scripts below): rebuilt only when one changes.

A test drives the guest through its agent's ``guest-exec`` of ``/bin/vmha-guest``: ``stop-agent`` (SIGSTOP
of qemu-ga), ``panic`` (sysrq crash; the kernel then hangs: panic=0) or ``poweroff`` (ACPI power off). The
agent's own ``guest-shutdown`` runs ``/sbin/shutdown``, which powers off too.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.cloud import procs
from tests.cloud.cpio import Archive
from tests.cloud.layout import Layout

KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX = Path("/bin/busybox")
QEMU_GA = Path("/usr/sbin/qemu-ga")
MODULES = ("virtio_pci", "virtio_console")  # the agent's virtio-serial port; loaded with their dependencies
AGENT_CHANNEL = "org.qemu.guest_agent.0"
KERNEL_ARGS = "console=ttyS0 panic=0 quiet"
CPU_MODEL = "qemu64"  # `-cpu host` fails on an MSR on some nested hosts; svm is turned off (not offered there)
QEMU_SYSTEM = "/usr/bin/qemu-system-x86_64"
KVM_PROBE_SECONDS = 15.0
TCG_FEATURES = "<tcg><tb-cache unit='MiB'>32</tb-cache></tcg>"  # QEMU's default would hold ~100 MiB more per guest
BUILD_VERSION = "1"  # bump to rebuild every cached guest

INIT = f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp
while read -r module; do insmod "/lib/modules/$module"; done < /lib/modules/load-order
port=
for _ in $(seq 100); do  # no udev: the agent's port is the one whose name sysfs gives as the channel's
  for name in /sys/class/virtio-ports/*/name; do
    [ -r "$name" ] && [ "$(cat "$name")" = {AGENT_CHANNEL} ] && port=/dev/$(basename "$(dirname "$name")")
  done
  [ -n "$port" ] && [ -c "$port" ] && break
  sleep 0.05
done
echo "vmha-guest: qemu-ga on $port"
qemu-ga -m virtio-serial -p "$port" -t /run &
while true; do wait; sleep 60; done
"""

GUEST_COMMAND = """#!/bin/sh
# vmha-guest stop-agent|panic|poweroff: what a test asks of the guest through guest-exec.
case "$1" in
  stop-agent) kill -STOP $(pidof qemu-ga) ;;
  panic) (sleep 0.2; echo c > /proc/sysrq-trigger) & ;;
  poweroff) (sleep 0.2; poweroff -f) & ;;
  *) echo "usage: vmha-guest stop-agent|panic|poweroff" >&2; exit 2 ;;
esac
"""

SHUTDOWN = """#!/bin/sh
# qemu-ga's guest-shutdown runs `/sbin/shutdown -P +0 MESSAGE` (or -r for a reboot); busybox has no shutdown.
case "$1" in -r) reboot -f ;; *) poweroff -f ;; esac
"""


@dataclass(frozen=True)
class Guest:
    """A built guest: the kernel, the initramfs and the kernel command line to boot them with."""

    kernel: Path
    initrd: Path
    cmdline: str = KERNEL_ARGS


def _output(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


def kernel_package() -> tuple[str, str]:
    """The kernel package the meta package depends on, and the version it pins (from apt's lists)."""
    meta = _output("apt-cache", "show", "--no-all-versions", KERNEL_META_PACKAGE)
    depends = re.search(r"^Depends: (linux-image-\S+) \(= (\S+)\)", meta, re.M)
    if depends is None:
        raise procs.StartError(f"apt knows no kernel for {KERNEL_META_PACKAGE} (apt-get update?)")
    return depends.group(1), depends.group(2)


def shared_libraries(binary: Path) -> list[Path]:
    """The libraries and loader ``binary`` is linked against, as ``ldd`` names them."""
    return [Path(path) for path in re.findall(r"(/\S+) \(0x", _output("ldd", str(binary)))]


def _digest(kernel: tuple[str, str], files: list[Path]) -> str:
    digest = hashlib.sha256(f"{BUILD_VERSION}\n{kernel}\n{INIT}{GUEST_COMMAND}{SHUTDOWN}{KERNEL_ARGS}".encode())
    for path in files:
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build(layout: Layout, report: Callable[[str], None] = print) -> Guest:
    """The guest for the machine's packages, built now unless the cache holds it."""
    started = time.monotonic()
    kernel = kernel_package()
    files = [BUSYBOX, QEMU_GA, *shared_libraries(QEMU_GA)]
    home = layout.root / "guest"
    home.mkdir(parents=True, exist_ok=True)
    built = home / _digest(kernel, files)
    guest = Guest(built / "vmlinuz", built / "initrd.gz")
    if guest.initrd.exists():
        return guest
    debs = home / "debs"
    deb = _download(debs, *kernel)
    with tempfile.TemporaryDirectory(dir=home) as scratch:
        tree = Path(scratch) / "kernel"
        procs.run(["dpkg-deb", "-x", str(deb), str(tree)])
        staging = Path(scratch) / built.name
        staging.mkdir()
        shutil.copyfile(next((tree / "boot").glob("vmlinuz-*")), staging / "vmlinuz")
        (staging / "initrd.gz").write_bytes(gzip.compress(_initramfs(tree, files), mtime=0))
        for old in home.glob("[0-9a-f]" * 16):
            shutil.rmtree(old)
        staging.rename(built)
    for old in debs.glob("*.deb"):
        if old != deb:
            old.unlink()
    report(f"guest built in {time.monotonic() - started:.1f} s from {kernel[0]} {kernel[1]}: {built}")
    return guest


def _download(debs: Path, name: str, version: str) -> Path:
    debs.mkdir(parents=True, exist_ok=True)
    found = [deb for deb in debs.glob(f"{name}_*.deb") if f"_{version.replace(':', '%3a')}_" in deb.name]
    if not found:
        fetched = subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=debs, capture_output=True,
                                 text=True, check=False, timeout=600)
        if fetched.returncode != 0:
            raise procs.StartError(f"apt-get download {name}={version} failed: {fetched.stderr.strip()[-500:]}")
        found = list(debs.glob(f"{name}_*.deb"))
    return found[0]


def _initramfs(kernel_tree: Path, files: list[Path]) -> bytes:
    archive = Archive()
    archive.file("init", INIT.encode(), 0o755)
    archive.file("bin/vmha-guest", GUEST_COMMAND.encode(), 0o755)
    archive.file("sbin/shutdown", SHUTDOWN.encode(), 0o755)
    for directory in ("proc", "sys", "dev", "run", "tmp", "var"):
        archive.directory(directory)
    archive.symlink("var/run", "/run")
    archive.device("dev/console", 5, 1)
    for path in files:
        archive.file(str(path).lstrip("/"), path.read_bytes(), 0o755)
    order = _module_order(kernel_tree)
    for module in order:
        archive.file(f"lib/modules/{module.name}", module.read_bytes(), 0o644)
    archive.file("lib/modules/load-order", "".join(f"{m.name}\n" for m in order).encode(), 0o644)
    return archive.finish()


def _module_order(kernel_tree: Path) -> list[Path]:
    """The module files of ``MODULES`` and of what they depend on, each after its dependencies."""
    by_name = {path.stem.replace("-", "_"): path for path in kernel_tree.glob("lib/modules/*/kernel/**/*.ko")}
    order: list[Path] = []

    def add(name: str) -> None:
        path = by_name[name]
        if path in order:
            return
        depends = re.search(rb"\0depends=([^\0]*)\0", path.read_bytes())
        for dependency in (depends.group(1).decode().split(",") if depends else []):
            if dependency:
                add(dependency)
        order.append(path)

    for module in MODULES:
        add(module)
    return order


def accelerator(layout: Layout, guest: Guest, report: Callable[[str], None] = print) -> str:
    """The libvirt domain type to boot ``guest`` with: ``kvm`` where a KVM guest reaches init within
    ``KVM_PROBE_SECONDS``, else ``qemu`` (TCG), the reason said in the log. Some nested hosts give a
    /dev/kvm whose guests fault their memory in so slowly that the kernel needs minutes to boot (Firecracker
    microVMs): one probe boot, cached beside the guest, finds out."""
    choice = guest.kernel.parent / "accelerator"
    if choice.exists():
        return choice.read_text().strip()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        domain_type, reason = "qemu", "/dev/kvm is absent or not usable"
    elif _boots_under_kvm(guest, layout.log / "guest-kvm-probe.log"):
        domain_type, reason = "kvm", f"a KVM guest reached init within {KVM_PROBE_SECONDS:.0f} s"
    else:
        domain_type, reason = "qemu", f"a KVM guest did not reach init within {KVM_PROBE_SECONDS:.0f} s"
    report(f"guest: domain type {domain_type}{' (TCG, software emulation)' if domain_type == 'qemu' else ''}: "
           f"{reason}")
    choice.write_text(domain_type + "\n")
    return domain_type


def _boots_under_kvm(guest: Guest, console: Path) -> bool:
    console.parent.mkdir(parents=True, exist_ok=True)
    console.unlink(missing_ok=True)
    probe = subprocess.Popen(
        [QEMU_SYSTEM, "-nodefaults", "-accel", "kvm", "-cpu", CPU_MODEL + ",-svm", "-m", "96", "-display", "none",
         "-no-reboot", "-serial", f"file:{console}", "-kernel", str(guest.kernel), "-initrd", str(guest.initrd),
         "-append", guest.cmdline], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return procs.wait_until(lambda: console.exists() and b"vmha-guest:" in console.read_bytes(),
                                KVM_PROBE_SECONDS, 0.2)
    finally:
        probe.kill()
        probe.wait()


def agent_socket_path(name: str) -> str:
    """Where Nova puts the agent channel's socket of domain ``name``."""
    return f"/var/lib/libvirt/qemu/{AGENT_CHANNEL}.{name}.sock"


def domain_xml(guest: Guest, name: str, uuid: str, console_log: Path, *, memory_mib: int = 96,
               domain_type: str = "kvm", metadata: str = "") -> str:
    """A libvirt domain booting ``guest``: 1 vCPU, ``memory_mib``, no disk and no NIC; the agent's channel at
    the path Nova gives it (``/var/lib/libvirt/qemu/org.qemu.guest_agent.0.<name>.sock``), the serial console
    in ``console_log``. ``domain_type``: ``accelerator``'s choice."""
    return f"""<domain type='{domain_type}'>
  <name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>{memory_mib}</memory><vcpu>1</vcpu>
  <metadata>{metadata}</metadata>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
    <cmdline>{guest.cmdline}</cmdline></os>
  <features><acpi/>{TCG_FEATURES if domain_type == 'qemu' else ''}</features>
  <cpu mode='custom' match='exact'><model fallback='forbid'>{CPU_MODEL}</model>
    <feature policy='disable' name='svm'/></cpu>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>{QEMU_SYSTEM}</emulator>
    <serial type='file'><source path='{console_log}'/><target port='0'/></serial>
    <channel type='unix'>
      <source mode='bind' path='{agent_socket_path(name)}'/>
      <target type='virtio' name='{AGENT_CHANNEL}'/>
    </channel>
    <controller type='usb' model='none'/><memballoon model='none'/>
  </devices>
</domain>"""
