"""What a demo run is told: the cloud, the host to kill, the commands that kill and restart it, and where the
host monitors find their coordination engine and the hosts' BMCs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoOptions:
    """One demo run. ``kill_command`` and ``start_command`` contain ``{host}``."""

    kill_command: str
    start_command: str
    coordination_url: str
    """tooz URL (etcd3+http:// or redis://) of the host monitors' segment group."""
    fencing_file: str = ""
    """BMC addresses and credentials (fencing.schema.json): the leader asks a departed host's BMC, the gateway
    powers the failed host off through it, and the demo powers it on again afterwards."""
    cloud: str | None = None
    host: str = "compute1"
    servers: int = 3
    bystanders: int = 1
    image: str = "vmha-tiny"
    flavor: str = "m1.tiny"
    fencing: str = "required"
    nova_stale_seconds: float = 10.0
    """The monitors' monitor.host.nova_stale_seconds: twice Nova's report_interval (5 s on the local cloud)."""
    journal_url: str | None = None
    timeout_seconds: float = 300.0
