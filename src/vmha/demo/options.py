"""What a demo run is told: the cloud, the host to kill, the commands that kill and restart it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoOptions:
    """One demo run. ``kill_command`` and ``start_command`` contain ``{host}``."""

    kill_command: str
    start_command: str
    cloud: str | None = None
    host: str = "compute1"
    servers: int = 3
    bystanders: int = 1
    image: str = "vmha-tiny"
    flavor: str = "m1.tiny"
    fencing: str = "disabled"
    notify: bool = True
    journal_url: str | None = None
    timeout_seconds: float = 300.0
