"""Masakari 22 (masakari-api + masakari-engine) beside the local cloud, for the side-by-side benchmark.

Installed from PyPI into its own virtualenv ``<cloud>/masakari/venv`` (pinned by the cloud's constraints,
kept between runs: the install is the slow part), with its own database on the cloud's MariaDB, a
Keystone service user ``masakari`` and the catalog entry ``instance-ha`` (removed again when the benchmark
ends: ``unregister``), RabbitMQ as its RPC transport,
and the privileged Nova account Masakari evacuates with. ``start`` (re)starts both processes with one
set of engine options (``DEFAULTS``: Masakari's own; ``TUNED``: its waits cut down for this cloud), so one
benchmark compares both. Processes are the cloud's (``tests.cloud.procs``: pid and log under the cloud).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.cloud import catalog, config, infra, procs
from tests.cloud.layout import HOST, PASSWORD, REGION, Layout

VERSION = "22.0.0"
API_PORT = 25868
"""Masakari's API port (its default 15868 moved into the cloud's private range), shifted by the offset."""
DATABASE = "masakari"
SERVICE_TYPE = "instance-ha"
PROCESSES = ("masakari-api", "masakari-engine")
CONSTRAINTS = Path(__file__).resolve().parents[1] / "cloud" / "constraints.txt"

DEFAULTS: Mapping[str, str] = {}
"""Masakari's defaults: a random 0-5 s API delay, a 180 s sleep after disabling the host, 3 threads."""
TUNED: Mapping[str, str] = {
    # No random pause before a notification is stored (it exists for API replicas without coordination).
    "notification_delay_max": "0",
    # Disabling a compute Nova still believes up blocks ~60 s in Nova (its RPC to the dead host times
    # out), longer than this cloud's service_down_time (30 s): by then Nova already calls the host down.
    "wait_period_after_service_update": "0",
    # As many parallel evacuations as the vmha gateway runs workers in the benchmark (8).
    "host_failure_recovery_threads": "8",
}
"""Masakari's waits cut down as far as this cloud allows (verify_interval is already its minimum, 1 s)."""


class MasakariError(RuntimeError):
    """Masakari could not be installed, configured or started; the message says where to look."""


def root(layout: Layout) -> Path:
    return layout.root / "masakari"


def venv(layout: Layout) -> Path:
    return root(layout) / "venv"


def api_url(layout: Layout) -> str:
    return f"http://{HOST}:{API_PORT + layout.port_offset}"


def install(layout: Layout) -> bool:
    """Install Masakari into its virtualenv unless it is already there; True when it had to install."""
    engine = venv(layout) / "bin" / "masakari-engine"
    if engine.exists():
        return False
    venv(layout).parent.mkdir(parents=True, exist_ok=True)
    log = layout.log / "masakari-install.log"
    procs.run([sys.executable, "-m", "venv", str(venv(layout))], log=log)
    procs.run([str(venv(layout) / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
               "-c", str(CONSTRAINTS), f"masakari=={VERSION}", "PyMySQL"], log=log)
    return True


def conf_sections(layout: Layout, options: Mapping[str, str]) -> config.Sections:
    auth = {"auth_url": layout.auth_url, "auth_type": "password", "username": "masakari", "password": PASSWORD,
            "project_name": "service", "user_domain_name": "Default", "project_domain_name": "Default",
            "region_name": REGION}
    database = layout.db_url(DATABASE) + "?charset=utf8mb4"
    return {
        "DEFAULT": {
            "transport_url": layout.transport_url, "log_dir": str(layout.log), "auth_strategy": "keystone",
            "masakari_api_listen": HOST, "masakari_api_listen_port": str(API_PORT + layout.port_offset),
            "masakari_api_workers": "1", "os_privileged_user_name": "masakari",
            "os_privileged_user_password": PASSWORD, "os_privileged_user_tenant": "service",
            "os_privileged_user_auth_url": layout.auth_url, "os_region_name": REGION,
            "state_path": str(root(layout) / "state"), **options,
        },
        "wsgi": {"api_paste_config": str(venv(layout) / "etc" / "masakari" / "api-paste.ini")},
        "database": {"connection": database},
        "taskflow": {"connection": database},
        "keystone_authtoken": {"www_authenticate_uri": layout.auth_url, **auth},
        "oslo_messaging_notifications": {"driver": "noop"},
        "oslo_concurrency": {"lock_path": str(root(layout) / "lock")},
    }


def configure(layout: Layout) -> None:
    """Its database (schema synced), its Keystone user and catalog entry; idempotent."""
    infra.create_databases(layout, [DATABASE])
    conf = root(layout) / "masakari-sync.conf"
    config.write_ini(conf, conf_sections(layout, DEFAULTS))
    procs.run([str(venv(layout) / "bin" / "masakari-manage"), "--config-file", str(conf), "db", "sync"],
              log=layout.log / "masakari-install.log")
    conn = catalog.connect(layout)
    try:
        identity = conn.identity
        service_project = identity.find_project("service", domain_id="default")
        user = identity.find_user("masakari", domain_id="default") or identity.create_user(
            name="masakari", password=PASSWORD, domain_id="default")
        for role in ("admin", "service"):
            identity.assign_project_role_to_user(service_project, user, identity.find_role(role))
        service = identity.find_service("masakari") or identity.create_service(name="masakari", type=SERVICE_TYPE)
        if not list(identity.endpoints(service_id=service.id)):
            for interface in ("public", "internal", "admin"):
                identity.create_endpoint(service_id=service.id, interface=interface, region_id=REGION,
                                         url=api_url(layout) + "/v1/%(tenant_id)s")
    finally:
        conn.close()


def start(layout: Layout, options: Mapping[str, str]) -> None:
    """(Re)start masakari-api and masakari-engine with these engine options; wait until the API answers."""
    stop(layout)
    conf = root(layout) / "masakari.conf"
    config.write_ini(conf, conf_sections(layout, options))
    engine_log = layout.log / "masakari-engine.log"
    offset = engine_log.stat().st_size if engine_log.exists() else 0
    for name in PROCESSES:
        procs.start(layout, name, [str(venv(layout) / "bin" / name), "--config-file", str(conf)])
    try:
        procs.wait_http(layout, "masakari-api", api_url(layout) + "/", timeout=120.0)
    except procs.StartError as error:
        raise MasakariError(f"{error}; Masakari's own logs are in {layout.log}") from error
    if not procs.wait_until(lambda: _engine_ready(layout, offset), 60.0, 0.5):
        raise MasakariError(f"masakari-engine did not start; see {procs.logfile(layout, 'masakari-engine')}")


def _engine_ready(layout: Layout, offset: int) -> bool:
    """Whether the engine logged its start-up (past ``offset``, where its log ended before this start)."""
    log = layout.log / "masakari-engine.log"
    if not procs.is_running(layout, "masakari-engine"):
        raise MasakariError(f"masakari-engine exited; see {log} and {procs.logfile(layout, 'masakari-engine')}")
    if not log.exists():
        return False
    with log.open("rb") as handle:
        handle.seek(offset)
        return b"Starting " in handle.read()


def stop(layout: Layout) -> None:
    for name in PROCESSES:
        procs.stop(layout, name)


def unregister(layout: Layout) -> None:
    """Remove Masakari's catalog entry (its ``instance-ha`` service and endpoints), so that no client of the
    cloud, vmha's tests included, finds a Masakari that no longer runs."""
    conn = catalog.connect(layout)
    try:
        identity = conn.identity
        service = identity.find_service("masakari")
        if service is not None:
            for endpoint in identity.endpoints(service_id=service.id):
                identity.delete_endpoint(endpoint)
            identity.delete_service(service)
    finally:
        conn.close()


def ready(layout: Layout) -> None:
    """Install (first time only) and configure Masakari; raise MasakariError when a command failed."""
    try:
        install(layout)
        configure(layout)
    except (procs.StartError, subprocess.SubprocessError) as error:
        raise MasakariError(f"{error}; see {layout.log / 'masakari-install.log'}") from error
