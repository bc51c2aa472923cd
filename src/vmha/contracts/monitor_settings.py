"""The ``monitor`` section of the settings (``settings.schema.json``): options of ``vmha monitor``."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SinkOptions:
    """Delivery of notifications (schema: ``monitor.sink``)."""

    zaqar_url: str
    masakari_url: str
    message_ttl_seconds: int
    request_timeout_seconds: float
    retry_initial_seconds: float
    retry_max_seconds: float
    retry_multiplier: float


@dataclass(frozen=True)
class InstanceMonitorOptions:
    """libvirt event monitor (schema: ``monitor.instance``)."""

    reconnect_seconds: float
    keepalive_interval_seconds: int
    keepalive_count: int


@dataclass(frozen=True)
class IntrospectiveMonitorOptions:
    """QEMU guest agent heartbeat monitor (schema: ``monitor.introspective``)."""

    interval_seconds: float
    timeout_seconds: float
    misses: int
    transport: str
    channel_name: str
    socket_path_pattern: str
    opt_in: str
    max_concurrency: int


@dataclass(frozen=True)
class ProcessMonitorOptions:
    """Local service monitor (schema: ``monitor.process``)."""

    process_list: str
    check_interval_seconds: float
    command_timeout_seconds: float


@dataclass(frozen=True)
class HostMonitorOptions:
    """Segment membership and failed-host reports (schema: ``monitor.host``)."""

    segment: str
    interval_seconds: float
    misses: int
    nova_stale_seconds: float
    isolation_response: str
    isolation_addresses: tuple[str, ...]
    self_fence: str
    self_fence_seconds: float
    watchdog_device: str

    @property
    def window_seconds(self) -> float:
        """``interval_seconds x misses``: how long a member may go without a heartbeat before it counts as gone."""
        return self.interval_seconds * self.misses


@dataclass(frozen=True)
class MonitorOptions:
    """The compute-host monitors (schema: ``monitor``)."""

    hostname: str
    cloud: str
    state_dir: str
    libvirt_uri: str
    log_format: str
    log_level: str
    sink: SinkOptions
    instance: InstanceMonitorOptions
    introspective: IntrospectiveMonitorOptions
    process: ProcessMonitorOptions
    host: HostMonitorOptions
