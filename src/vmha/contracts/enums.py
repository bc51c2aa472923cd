"""Closed value sets of the contract. Their values equal the schemas' enums (a test keeps them equal)."""

from enum import StrEnum


class FailureType(StrEnum):
    """What failed: the notification ``type``."""

    COMPUTE_HOST = "COMPUTE_HOST"
    VM = "VM"
    PROCESS = "PROCESS"

    @classmethod
    def names(cls, text: str) -> bool:
        """Whether ``text`` is a failure type (a journal also holds vmha's own notifications: a failback)."""
        return text in cls._value2member_map_


class RecoveryMethod(StrEnum):
    """How a segment recovers a failed host (Masakari's four methods)."""

    AUTO = "auto"
    RESERVED_HOST = "reserved_host"
    AUTO_PRIORITY = "auto_priority"
    RH_PRIORITY = "rh_priority"


class HostEvent(StrEnum):
    """COMPUTE_HOST ``event``: the host left (STOPPED) or rejoined (STARTED) the cluster."""

    STOPPED = "STOPPED"
    STARTED = "STARTED"


class HostStatus(StrEnum):
    """COMPUTE_HOST ``host_status``: NORMAL means power-off was confirmed; only then is it safe to evacuate."""

    NORMAL = "NORMAL"
    UNKNOWN = "UNKNOWN"


class ClusterStatus(StrEnum):
    """COMPUTE_HOST ``cluster_status`` as the host monitor saw it (informative only)."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


class ProcessEvent(StrEnum):
    """PROCESS ``event``."""

    STOPPED = "STOPPED"
    STARTED = "STARTED"


class VmEvent(StrEnum):
    """VM ``event``: the libvirt event family, or the guest agent heartbeat."""

    LIFECYCLE = "LIFECYCLE"
    REBOOT = "REBOOT"
    WATCHDOG = "WATCHDOG"
    IO_ERROR = "IO_ERROR"
    IO_ERROR_REASON = "IO_ERROR_REASON"
    CONTROL_ERROR = "CONTROL_ERROR"
    QEMU_GUEST_AGENT_ERROR = "QEMU_GUEST_AGENT_ERROR"


class VirDomainEvent(StrEnum):
    """VM ``vir_domain_event``: the detail of the event (libvirt event type and detail, or action)."""

    STOPPED_FAILED = "STOPPED_FAILED"
    STOPPED_SHUTDOWN = "STOPPED_SHUTDOWN"
    STOPPED_DESTROYED = "STOPPED_DESTROYED"
    SHUTDOWN_FINISHED = "SHUTDOWN_FINISHED"
    SUSPENDED_IOERROR = "SUSPENDED_IOERROR"
    SUSPENDED_WATCHDOG = "SUSPENDED_WATCHDOG"
    SUSPENDED_API_ERROR = "SUSPENDED_API_ERROR"
    WATCHDOG_NONE = "WATCHDOG_NONE"
    WATCHDOG_PAUSE = "WATCHDOG_PAUSE"
    WATCHDOG_RESET = "WATCHDOG_RESET"
    WATCHDOG_POWEROFF = "WATCHDOG_POWEROFF"
    WATCHDOG_SHUTDOWN = "WATCHDOG_SHUTDOWN"
    WATCHDOG_DEBUG = "WATCHDOG_DEBUG"
    IO_ERROR_NONE = "IO_ERROR_NONE"
    IO_ERROR_PAUSE = "IO_ERROR_PAUSE"
    IO_ERROR_REPORT = "IO_ERROR_REPORT"
    UNKNOWN = "UNKNOWN"
