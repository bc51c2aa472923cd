"""The OpenStack processes of the local cloud: how each one is started and how to tell it is ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.cloud import procs
from tests.cloud.layout import BMC_USER, COMPUTE_HOSTS, HOST, Layout

# WSGI entry modules. oslo.config in these apps parses sys.argv, which under gunicorn holds gunicorn's own
# flags, so each app is imported through a small wrapper that hides them.
WSGI_APPS = {
    "keystone": "keystone.wsgi.api",
    "placement": "placement.wsgi.api",
    "glance": "glance.wsgi.api",
    "nova": "nova.wsgi.osapi_compute",
    "zaqar": "zaqar.transport.wsgi.app",
    "aodh": "aodh.wsgi.api",
    "heat": "heat.wsgi.api",
    "neutron": "neutron.wsgi.api",
}


@dataclass(frozen=True)
class Service:
    """One process of the cloud. ``ready_url`` answers < 500 once it serves."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str | None = None


def wsgi_wrapper(layout: Layout, api: str) -> str:
    """Write the gunicorn entry module of ``api``; return its module name."""
    argv = "sys.argv[:1]"
    if api == "heat":  # heat finds its config only through --config-file
        argv += f" + ['--config-file', {str(layout.etc / 'heat' / 'heat.conf')!r}]"
    lines = ["import sys", f"sys.argv = {argv}", f"from {WSGI_APPS[api]} import application  # noqa: F401"]
    if api == "neutron":
        # Neutron 29 under WSGI: Port.port_forwardings exists only once the ORM mappers are configured;
        # without this every GET /v2.0/ports (and so every Nova server show) fails with AttributeError.
        lines += ["import neutron.db.models.port_forwarding  # noqa: F401",
                  "from sqlalchemy import orm", "orm.configure_mappers()"]
    wsgi = layout.root / "wsgi"
    wsgi.mkdir(parents=True, exist_ok=True)
    (wsgi / f"{api}_wsgi.py").write_text("\n".join(lines) + "\n")
    return f"{api}_wsgi"


def _api(layout: Layout, api: str, env: dict[str, str]) -> Service:
    port = layout.ports[api]
    # --keep-alive 75: gunicorn's 2 s default closes idle connections just as clients reuse them
    # (RemoteDisconnected on a pooled keep-alive connection). --limit-request-line 0: Nova asks Neutron for
    # the ports of every listed server in one query string, longer than gunicorn's 4094 bytes for a few
    # dozen servers (a 500 from Nova's servers/detail?changes-since).
    argv = (layout.bin("gunicorn"), "--no-control-socket", "-b", f"{HOST}:{port}", "-w", "1", "--threads", "4",
            "--timeout", "120", "--keep-alive", "75", "--limit-request-line", "0", "--name", f"{api}-api",
            f"{wsgi_wrapper(layout, api)}:application")
    return Service(f"{api}-api", argv, {"PYTHONPATH": str(layout.root / "wsgi"), **env}, layout.url(api, "/"))


def _daemon(layout: Layout, name: str, binary: str, *config_files: Path) -> Service:
    args = [layout.bin(binary)]
    for path in config_files:
        args += ["--config-file", str(path)]
    return Service(name, tuple(args))


def compute_service(layout: Layout, host: str) -> Service:
    """nova-compute of one fake host (service name ``nova-<host>``)."""
    etc = layout.etc / "nova"
    return _daemon(layout, f"nova-{host}", "nova-compute", etc / "nova.conf", etc / host / "compute.conf")


def bmc_service(layout: Layout, host: str) -> Service:
    """The host's BMC emulator (Redfish + IPMI); it outlives the host's nova-compute, as a real BMC does."""
    workdir = layout.state / "bmc"
    workdir.mkdir(parents=True, exist_ok=True)
    redfish = layout.bmc_redfish_url(host)
    argv = (layout.bin("python"), str(Path(__file__).with_name("bmc_emulator.py")), host,
            redfish.rsplit(":", 1)[1], str(layout.bmc_ipmi_port(host)), BMC_USER, layout.bmc_password(host),
            str(workdir))
    return Service(f"bmc-{host}", argv, {}, redfish + "/redfish/v1")


def home_for(layout: Layout, project: str) -> Path:
    """A HOME holding ``.<project>/<project>.conf``: the Zaqar and Aodh WSGI apps read only that location."""
    home = layout.state / f"{project}-home"
    (home / f".{project}").mkdir(parents=True, exist_ok=True)
    link = home / f".{project}" / f"{project}.conf"
    if not link.is_symlink():  # exists() is False for a link whose target is not written yet
        link.symlink_to(layout.etc / project / f"{project}.conf")
    return home


def all_services(layout: Layout) -> list[Service]:
    """Every OpenStack process, in start order (Keystone is started on its own first)."""
    etc = layout.etc
    nova_conf = etc / "nova" / "nova.conf"
    aodh_conf = etc / "aodh" / "aodh.conf"
    return [
        _api(layout, "keystone", {"OS_KEYSTONE_CONFIG_FILES": str(etc / "keystone" / "keystone.conf")}),
        _api(layout, "placement", {"OS_PLACEMENT_CONFIG_DIR": str(etc / "placement")}),
        _api(layout, "glance", {"OS_GLANCE_CONFIG_DIR": str(etc / "glance")}),
        _api(layout, "neutron", {"OS_NEUTRON_CONFIG_DIR": str(etc / "neutron")}),
        _api(layout, "nova", {"OS_NOVA_CONFIG_DIR": str(etc / "nova")}),
        _daemon(layout, "nova-conductor", "nova-conductor", nova_conf),
        _daemon(layout, "nova-scheduler", "nova-scheduler", nova_conf),
        *(compute_service(layout, host) for host in COMPUTE_HOSTS),
        _api(layout, "zaqar", {"HOME": str(home_for(layout, "zaqar"))}),
        _api(layout, "aodh", {"HOME": str(home_for(layout, "aodh"))}),
        *(_daemon(layout, f"aodh-{part}", f"aodh-{part}", aodh_conf)
          for part in ("evaluator", "notifier", "listener")),
        _daemon(layout, "ceilometer-notification", "ceilometer-agent-notification",
                etc / "ceilometer" / "ceilometer.conf"),
        _api(layout, "heat", {}),
        _daemon(layout, "heat-engine", "heat-engine", etc / "heat" / "heat.conf"),
        *(bmc_service(layout, host) for host in COMPUTE_HOSTS),
    ]


def start(layout: Layout, services: list[Service]) -> None:
    for service in services:
        procs.start(layout, service.name, service.argv, service.env)


def wait_ready(layout: Layout, services: list[Service], timeout: float = 240.0) -> None:
    for service in services:
        if service.ready_url:
            procs.wait_http(layout, service.name, service.ready_url, timeout)
        elif not procs.is_running(layout, service.name):
            raise procs.StartError(f"{service.name} exited; see {procs.logfile(layout, service.name)}")
