"""A private libvirtd running libvirt's system QEMU driver (``qemu:///system``) for real KVM guests.

The privileged QEMU driver keeps its state in fixed system directories, so the daemon runs in its own mount
namespace where ``/etc/libvirt``, ``/run/libvirt``, ``/var/lib/libvirt``, ``/var/cache/libvirt`` and
``/var/log/libvirt`` are bind mounts of directories under ``.cloud/<name>/``: nothing of the machine's own
libvirt is read or written (only empty mount points are created when the packages did not ship them). Its
socket is ``.cloud/<name>/run/libvirt-sock`` (``uri``). Only the QEMU driver module is loaded; QEMU runs as
root without cgroups, security driver or per-domain namespaces, its console output written to files.

QEMU processes outlive their daemon (libvirt's design): ``destroy_all`` destroys the domains, which the
tests do in their finally blocks and ``down`` before it stops the daemon.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
from pathlib import Path

import libvirt

from tests.cloud import procs
from tests.cloud.layout import Layout

NAME = "libvirt-qemu"
LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
DRIVER_DIR = Path("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver")
QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"
SYSTEM_DIRS = ("etc/libvirt", "run/libvirt", "var/lib/libvirt", "var/cache/libvirt", "var/log/libvirt")
QEMU_CONF = """\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
stdio_handler = "file"
"""


def base(layout: Layout, name: str = NAME) -> Path:
    return layout.root / name


def uri(layout: Layout, name: str = NAME) -> str:
    return f"qemu+unix:///system?socket={base(layout, name) / 'run/libvirt/libvirt-sock'}"


def missing_packages() -> list[str]:
    """Debian packages this daemon and its guests need that are not installed."""
    needed = {"libvirt-daemon": Path(LIBVIRTD), "libvirt-daemon-driver-qemu": DRIVER_DIR / "libvirt_driver_qemu.so",
              "qemu-system-x86": Path(QEMU)}
    return [package for package, path in needed.items() if not path.exists()]


def _accounts(root: Path, hostname: str | None) -> None:
    """Copies of /etc/passwd and /etc/group holding the QEMU driver's default account, which it resolves
    before reading qemu.conf (the package that creates it, libvirt-daemon-system, is not needed otherwise)."""
    for table, entry in (("passwd", "libvirt-qemu:x:64055:64055::/nonexistent:/usr/sbin/nologin"),
                         ("group", "libvirt-qemu:x:64055:")):
        lines = Path("/etc", table).read_text().splitlines()
        if not any(line.startswith("libvirt-qemu:") for line in lines):
            lines.append(entry)
        (root / "accounts" / table).write_text("\n".join(lines) + "\n")
    if hostname:  # libvirt's getHostname() canonicalises the name through the resolver: answer it locally
        (root / "accounts" / "hosts").write_text(f"127.0.0.1 {hostname} localhost\n")


def _prepare(layout: Layout, name: str, hostname: str | None) -> tuple[Path, Path]:
    """Write the daemon's configuration; return (libvirtd.conf, driver directory)."""
    root = base(layout, name)
    for directory in (*SYSTEM_DIRS, "accounts"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    _accounts(root, hostname)
    (root / "etc/libvirt/qemu.conf").write_text(QEMU_CONF)
    config = root / "etc/libvirt/libvirtd.conf"
    config.write_text('auth_unix_ro = "none"\nauth_unix_rw = "none"\nunix_sock_rw_perms = "0700"\n'
                      'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
    drivers = root / "drivers"
    drivers.mkdir(exist_ok=True)
    link = drivers / "libvirt_driver_qemu.so"
    if not link.is_symlink():
        link.symlink_to(DRIVER_DIR / "libvirt_driver_qemu.so")
    return config, drivers


def _argv(layout: Layout, name: str, config: Path, drivers: Path, hostname: str | None) -> list[str]:
    root = base(layout, name)
    tables = ("passwd", "group", "hosts") if hostname else ("passwd", "group")
    mounts = [f"mkdir -p /{d} && mount --bind {shlex.quote(str(root / d))} /{d}" for d in SYSTEM_DIRS]
    mounts += [f"mount --bind {shlex.quote(str(root / 'accounts' / t))} /etc/{t}" for t in tables]
    if hostname:
        mounts.append(f"hostname {shlex.quote(hostname)}")
    binds = " && ".join(mounts)
    # Its pid file in its own run directory: the default, /run/libvirtd.pid, is not in a bind mount.
    start = (f"exec env LIBVIRT_DRIVER_DIR={shlex.quote(str(drivers))} {LIBVIRTD} --config {shlex.quote(str(config))}"
             " --pid-file /run/libvirt/libvirtd.pid")
    namespaces = ["--mount", "--uts"] if hostname else ["--mount"]
    return ["unshare", *namespaces, "--propagation", "private", "--", "sh", "-c", f"{binds} && {start}"]


def start(layout: Layout, name: str = NAME, timeout: float = 60.0, hostname: str | None = None) -> None:
    """Start the daemon unless it runs; wait until it serves the QEMU driver. With ``hostname`` it runs in its
    own UTS namespace under that name, which is what its ``getHostname()`` answers (Nova names its compute
    node after it): several daemons on one machine then stand for several hosts."""
    missing = missing_packages()
    if missing:
        raise procs.StartError(f"missing Debian packages: {' '.join(missing)} (apt-get install them)")
    config, drivers = _prepare(layout, name, hostname)
    procs.start(layout, name, _argv(layout, name, config, drivers, hostname))

    def serving() -> bool:
        if not procs.is_running(layout, name):
            raise procs.StartError(f"{name} exited; see {procs.logfile(layout, name)} and "
                                   f"{base(layout, name) / 'var/log/libvirt/libvirtd.log'}")
        if not (base(layout, name) / "run/libvirt/libvirt-sock").exists():
            return False
        try:
            libvirt.open(uri(layout, name)).close()
        except libvirt.libvirtError:
            return False
        return True

    if not procs.wait_until(serving, timeout, 0.2):
        raise procs.StartError(f"{name} did not serve {uri(layout, name)} within {timeout:.0f} s")


def qemu_pid(layout: Layout, domain: str, name: str = NAME) -> int:
    """The pid of the QEMU process running ``domain`` on the daemon."""
    return int((base(layout, name) / "run/libvirt/qemu" / f"{domain}.pid").read_text())


def destroy_all(layout: Layout, name: str = NAME) -> None:
    """Destroy every running domain of the daemon and undefine the persistent ones (no-op when it is down)."""
    if not procs.is_running(layout, name):
        return
    with contextlib.suppress(libvirt.libvirtError):
        conn = libvirt.open(uri(layout, name))
        try:
            for dom in conn.listAllDomains():
                with contextlib.suppress(libvirt.libvirtError):
                    if dom.isActive():
                        dom.destroy()
                with contextlib.suppress(libvirt.libvirtError):
                    if dom.isPersistent():
                        dom.undefine()
        finally:
            conn.close()
