"""Notifications: the failure reports on the notifications queue (``notification.schema.json``).

``parse_notification`` is the receiving edge and ``Notification.to_dict`` the sending one; both validate
against the schema, so a Notification always stands for a valid message. The type is derived from the
payload class, so the two cannot disagree.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from vmha.contracts.enums import (
    ClusterStatus,
    FailureType,
    HostEvent,
    HostStatus,
    ProcessEvent,
    VirDomainEvent,
    VmEvent,
)
from vmha.contracts.validation import Raw, check, decode, format_timestamp, parse_timestamp

_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True)
class HostPayload:
    """COMPUTE_HOST payload: a host left or rejoined the cluster."""

    failure_type: ClassVar[FailureType] = FailureType.COMPUTE_HOST
    event: HostEvent
    host_status: HostStatus | None = None
    cluster_status: ClusterStatus | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> "HostPayload":
        """Build from a schema-valid payload."""
        return cls(
            event=HostEvent(data["event"]),
            host_status=_optional(HostStatus, data.get("host_status")),
            cluster_status=_optional(ClusterStatus, data.get("cluster_status")),
        )

    def to_dict(self) -> dict[str, str]:
        """The payload as sent; absent statuses are left out."""
        fields = {"event": self.event, "host_status": self.host_status, "cluster_status": self.cluster_status}
        return {key: value.value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class VmPayload:
    """VM payload: a guest failed (libvirt event or guest agent heartbeat lost)."""

    failure_type: ClassVar[FailureType] = FailureType.VM
    event: VmEvent
    vir_domain_event: VirDomainEvent
    instance_uuid: UUID

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> "VmPayload":
        """Build from a schema-valid payload."""
        return cls(
            event=VmEvent(data["event"]),
            vir_domain_event=VirDomainEvent(data["vir_domain_event"]),
            instance_uuid=UUID(data["instance_uuid"]),
        )

    def to_dict(self) -> dict[str, str]:
        """The payload as sent."""
        return {
            "event": self.event.value,
            "vir_domain_event": self.vir_domain_event.value,
            "instance_uuid": str(self.instance_uuid),
        }


@dataclass(frozen=True)
class ProcessPayload:
    """PROCESS payload: a service process died and could not be restarted locally."""

    failure_type: ClassVar[FailureType] = FailureType.PROCESS
    event: ProcessEvent
    process_name: str

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> "ProcessPayload":
        """Build from a schema-valid payload."""
        return cls(event=ProcessEvent(data["event"]), process_name=data["process_name"])

    def to_dict(self) -> dict[str, str]:
        """The payload as sent."""
        return {"event": self.event.value, "process_name": self.process_name}


Payload = HostPayload | VmPayload | ProcessPayload

_PAYLOADS: dict[FailureType, type[Payload]] = {
    FailureType.COMPUTE_HOST: HostPayload,
    FailureType.VM: VmPayload,
    FailureType.PROCESS: ProcessPayload,
}


@dataclass(frozen=True)
class Notification:
    """A failure report. ``id`` is minted once by the sender and keys the idempotency of the recovery."""

    id: UUID
    source: str
    hostname: str
    generated_time: datetime
    payload: Payload

    @property
    def type(self) -> FailureType:
        """The failure type, given by the payload."""
        return self.payload.failure_type

    def to_dict(self) -> dict[str, Any]:
        """The message to send, validated (raises ContractError, e.g. for an oversized hostname)."""
        document = {
            "id": str(self.id),
            "source": self.source,
            "type": self.type.value,
            "hostname": self.hostname,
            "generated_time": format_timestamp(self.generated_time),
            "payload": self.payload.to_dict(),
        }
        check("notification", document)
        return document


def parse_notification(raw: Raw) -> Notification:
    """Validate a received notification and parse it; raises ContractError naming the offending field."""
    document = decode(raw)
    check("notification", document)
    return Notification(
        id=UUID(document["id"]),
        source=document["source"],
        hostname=document["hostname"],
        generated_time=parse_timestamp(document["generated_time"], "generated_time"),
        payload=_PAYLOADS[FailureType(document["type"])].from_dict(document["payload"]),
    )


def _optional(enum: type[_E], value: str | None) -> _E | None:
    return None if value is None else enum(value)
