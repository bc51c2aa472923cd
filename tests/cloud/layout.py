"""Where the local cloud keeps everything: one root directory and a table of private loopback ports."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
REGION = "RegionOne"
PASSWORD = "secret"  # every local account (database, broker, Keystone users); loopback only
ADMIN_PROJECT = "admin"
DEMO_PROJECT = "demo"
COMPUTE_HOSTS = ("compute1", "compute2", "compute3", "compute4")
# The kvm profile's hosts (`up --hypervisor kvm`): Nova's libvirt driver on real QEMU guests (tests/cloud/kvm_hosts.py)
KVM_HOSTS = ("kvm-host-1", "kvm-host-2")
JOURNAL_TEST_DATABASE = "vmha_journal_test"

# Private ports, away from the defaults of a system-wide install (and from RabbitMQ's 25672). A second cloud
# (e.g. a CI check beside a developer's cloud) shifts them all with VMHA_CLOUD_PORT_OFFSET.
PORTS: dict[str, int] = {
    "mariadb": 23306,
    "postgresql": 25432,
    "rabbitmq": 25673,
    "rabbitmq_dist": 25674,
    "epmd": 24369,
    "redis": 26379,
    "etcd": 22379,
    "etcd_peer": 22380,
    "keystone": 25000,
    "placement": 28778,
    "glance": 29292,
    "neutron": 29696,
    "nova": 28774,
    "zaqar": 28888,
    "aodh": 28042,
    "heat": 28004,
}

# Each host's BMC: Redfish on TCP BMC_REDFISH_BASE + n, IPMI on UDP BMC_IPMI_BASE + n (host n = computeN; the
# kvm profile's hosts follow the fake ones).
BMC_REDFISH_BASE = 28100
BMC_IPMI_BASE = 28200
BMC_USER = "admin"
_BMC_HOSTS = COMPUTE_HOSTS + KVM_HOSTS

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Layout:
    """Directories of one local cloud; all derived from ``root``."""

    root: Path
    port_offset: int = 0
    ports: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ports", {name: port + self.port_offset for name, port in PORTS.items()})

    @classmethod
    def from_env(cls) -> Layout:
        """The layout named by ``VMHA_CLOUD_DIR`` (default ``<repo>/.cloud``) and ``VMHA_CLOUD_PORT_OFFSET``."""
        root = Path(os.environ.get("VMHA_CLOUD_DIR", REPO_ROOT / ".cloud")).resolve()
        return cls(root, int(os.environ.get("VMHA_CLOUD_PORT_OFFSET", "0")))

    @property
    def rabbit_node(self) -> str:
        """The RabbitMQ node name (distinct per port offset, so two clouds never share a node)."""
        return f"vmha{self.port_offset or ''}@localhost"

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def data(self) -> Path:
        """Infrastructure data (database files, broker state): survives `down`, wiped by `up --fresh`."""
        return self.root / "data"

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def url(self, service: str, path: str = "") -> str:
        return f"http://{HOST}:{self.ports[service]}{path}"

    def bmc_redfish_url(self, host: str) -> str:
        return f"http://{HOST}:{BMC_REDFISH_BASE + self.port_offset + _BMC_HOSTS.index(host) + 1}"

    def bmc_ipmi_port(self, host: str) -> int:
        return BMC_IPMI_BASE + self.port_offset + _BMC_HOSTS.index(host) + 1

    @staticmethod
    def bmc_password(host: str) -> str:
        return f"{PASSWORD}-{host}"

    @property
    def auth_url(self) -> str:
        return self.url("keystone", "/v3")

    def db_url(self, database: str) -> str:
        return f"mysql+pymysql://os:{PASSWORD}@{HOST}:{self.ports['mariadb']}/{database}"

    @property
    def journal_test_urls(self) -> tuple[str, ...]:
        """Server databases for the journal's tests (each holds nothing but the journal)."""
        return (
            f"{self.db_url(JOURNAL_TEST_DATABASE)}?charset=utf8mb4",
            f"postgresql+psycopg://vmha:{PASSWORD}@{HOST}:{self.ports['postgresql']}/{JOURNAL_TEST_DATABASE}",
        )

    @property
    def transport_url(self) -> str:
        return f"rabbit://openstack:{PASSWORD}@{HOST}:{self.ports['rabbitmq']}/"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.ports['redis']}"

    @property
    def etcd_url(self) -> str:
        return f"http://{HOST}:{self.ports['etcd']}"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def fencing_yaml(self) -> Path:
        """vmha's fencing configuration for the fake hosts' BMC emulators."""
        return self.root / "fencing.yaml"
