"""First-time set-up of the local cloud: virtualenv, config files, databases, Keystone, cell mapping."""

from __future__ import annotations

import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from tests.cloud import config, procs
from tests.cloud.infra import create_databases
from tests.cloud.layout import BMC_USER, COMPUTE_HOSTS, HOST, PASSWORD, REGION, Layout

HERE = Path(__file__).resolve().parent
CONSTRAINTS = HERE / "constraints.txt"
OPENSTACK_PACKAGES = (
    "nova==34.0.0", "keystone==30.0.0", "openstack-placement==16.0.0", "glance==33.0.0", "neutron==29.0.0",
    "zaqar==23.0.1", "aodh==23.0.0", "ceilometer==27.0.0", "openstack-heat==27.0.1",
    "pyroute2", "gunicorn", "PyMySQL", "redis", "pymemcache",
    "python-openstackclient", "python-zaqarclient", "python-heatclient", "aodhclient",
    "sushy-tools", "pyghmi", "libvirt-python",  # the fake hosts' BMC emulators (bmc_emulator.py)
)
DATABASES = ["keystone", "placement", "glance", "neutron", "nova_api", "nova", "nova_cell0", "zaqar", "aodh",
             "heat"]


def install_venv(layout: Layout) -> None:
    """Create the OpenStack virtualenv, pinned by constraints.txt; no-op when already complete."""
    marker = layout.venv / ".vmha-installed"
    if marker.exists() and marker.read_text() == CONSTRAINTS.read_text():
        return
    if not (layout.venv / "bin" / "python").exists():
        procs.run([sys.executable, "-m", "venv", str(layout.venv)])
    pip = [layout.bin("python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    procs.run([*pip, "-U", "pip", "setuptools", "wheel"], log=layout.log / "pip.log")
    procs.run([*pip, "-c", str(CONSTRAINTS), *OPENSTACK_PACKAGES], log=layout.log / "pip.log")
    marker.write_text(CONSTRAINTS.read_text())


def _site_packages(layout: Layout) -> Path:
    found = sorted(layout.venv.glob("lib/python3*/site-packages"))
    if not found:
        raise procs.StartError(f"no site-packages under {layout.venv}")
    return found[0]


def write_configs(layout: Layout) -> None:
    """Write every config file and copy the paste/event files the services ship."""
    for path, sections in config.config_files(layout).items():
        config.write_ini(path, sections)
    venv_etc = layout.venv / "etc"
    for source, target in (("nova/api-paste.ini", "nova/api-paste.ini"),
                           ("glance/glance-api-paste.ini", "glance/glance-api-paste.ini"),
                           ("heat/api-paste.ini", "heat/api-paste.ini"),
                           ("neutron/api-paste.ini", "neutron/api-paste.ini")):
        shutil.copyfile(venv_etc / source, layout.etc / target)
    site = _site_packages(layout)
    shutil.copyfile(site / "ceilometer/pipeline/data/event_definitions.yaml",
                    layout.etc / "ceilometer" / "event_definitions.yaml")
    (layout.etc / "ceilometer" / "event_pipeline.yaml").write_text(config.CEILOMETER_EVENT_PIPELINE)
    shutil.copyfile(HERE / "vmha_fake.py", site / "nova" / "virt" / "vmha_fake.py")
    for host in COMPUTE_HOSTS:
        compute_id = layout.etc / "nova" / host / "compute_id"
        if not compute_id.exists():
            compute_id.write_text(str(uuid.uuid4()))
    for sub in ("nova/instances", "nova/lock", "neutron/lock", "glance/images", "glance/staging",
                "glance/tasks", "keystone"):
        (layout.state / sub).mkdir(parents=True, exist_ok=True)


def write_fencing_config(layout: Layout, of: tuple[str, ...] = COMPUTE_HOSTS, path: Path | None = None) -> None:
    """fencing.yaml (or ``path``) for the BMC emulators of the hosts ``of``: IPMI for the last fake host, Redfish
    for the others (both protocols in the recovery drills); passwords in files, as an operator keeps them."""
    secrets = layout.state / "bmc" / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    hosts: dict[str, dict[str, object]] = {}
    for host in of:
        password_file = secrets / host
        password_file.write_text(layout.bmc_password(host) + "\n")
        password_file.chmod(0o600)
        access: dict[str, object] = {"username": BMC_USER, "password_file": str(password_file)}
        if host == COMPUTE_HOSTS[-1]:
            access.update(protocol="ipmi", address=HOST, port=layout.bmc_ipmi_port(host))
        else:
            access.update(protocol="redfish", address=layout.bmc_redfish_url(host))
        hosts[host] = access
    (path or layout.fencing_yaml).write_text(yaml.safe_dump({"hosts": hosts}, sort_keys=False))


def _manage(layout: Layout, *argv: str) -> None:
    procs.run([layout.bin(argv[0]), *argv[1:]], log=layout.log / "db-sync.log")


def bootstrap_keystone(layout: Layout) -> None:
    conf = str(layout.etc / "keystone" / "keystone.conf")
    manage = ("keystone-manage", "--config-file", conf)
    _manage(layout, *manage, "db_sync")
    for setup in ("fernet_setup", "credential_setup"):
        _manage(layout, *manage, setup, "--keystone-user", "root", "--keystone-group", "root")
    url = layout.auth_url
    _manage(layout, *manage, "bootstrap", "--bootstrap-password", PASSWORD, "--bootstrap-region-id", REGION,
            "--bootstrap-admin-url", url, "--bootstrap-internal-url", url, "--bootstrap-public-url", url)


def _nova_databases(layout: Layout) -> None:
    manage = ("nova-manage", "--config-file", str(layout.etc / "nova" / "nova.conf"))
    _manage(layout, *manage, "api_db", "sync")
    _manage(layout, *manage, "cell_v2", "map_cell0", "--database_connection", layout.db_url("nova_cell0"))
    _manage(layout, *manage, "cell_v2", "create_cell", "--name", "cell1")
    _manage(layout, *manage, "db", "sync")


def _other_databases(layout: Layout) -> list[tuple[str, ...]]:
    etc = layout.etc
    neutron = ("--config-file", str(etc / "neutron" / "neutron.conf"),
               "--config-file", str(etc / "neutron" / "plugins" / "ml2" / "ml2_conf.ini"))
    return [
        ("placement-manage", "--config-file", str(etc / "placement" / "placement.conf"), "db", "sync"),
        ("glance-manage", "--config-file", str(etc / "glance" / "glance-api.conf"), "db_sync"),
        ("neutron-db-manage", *neutron, "upgrade", "heads"),
        ("zaqar-sql-db-manage", "--config-file", str(etc / "zaqar" / "zaqar.conf"), "upgrade", "head"),
        ("aodh-dbsync", "--config-file", str(etc / "aodh" / "aodh.conf")),
        ("heat-manage", "--config-file", str(etc / "heat" / "heat.conf"), "db_sync"),
    ]


def sync_databases(layout: Layout) -> None:
    """Create every service database and run the schema syncs, in parallel (they are independent)."""
    create_databases(layout, DATABASES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(bootstrap_keystone, layout), pool.submit(_nova_databases, layout)]
        futures += [pool.submit(_manage, layout, *argv) for argv in _other_databases(layout)]
        for future in futures:
            future.result()


def discover_compute_hosts(layout: Layout) -> None:
    _manage(layout, "nova-manage", "--config-file", str(layout.etc / "nova" / "nova.conf"),
            "cell_v2", "discover_hosts")

