"""Notifications: examples round-trip, bad input is rejected naming the field."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from vmha.contracts import (
    MAX_DOCUMENT_BYTES,
    ContractError,
    FailureType,
    HostEvent,
    HostPayload,
    Notification,
    ProcessEvent,
    ProcessPayload,
    VirDomainEvent,
    VmEvent,
    VmPayload,
    parse_notification,
)
from vmha.templates import load_example

EXAMPLES = ["notification_compute_host", "notification_vm", "notification_vm_qga", "notification_process"]


def rejected(document: Any) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_notification(document)
    return caught.value


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_round_trips(name: str) -> None:
    example = load_example(name)
    notification = parse_notification(example)
    assert notification.to_dict() == example
    assert parse_notification(json.dumps(example).encode()) == notification
    assert parse_notification(json.dumps(example)) == notification


def test_examples_parse_into_typed_values() -> None:
    host = parse_notification(load_example("notification_compute_host"))
    assert host.type is FailureType.COMPUTE_HOST
    assert isinstance(host.payload, HostPayload)
    assert host.payload.event is HostEvent.STOPPED
    assert host.generated_time == datetime(2025, 3, 1, 10, 15, 30, tzinfo=UTC)
    qga = parse_notification(load_example("notification_vm_qga"))
    assert qga.type is FailureType.VM
    assert isinstance(qga.payload, VmPayload)
    assert qga.payload.event is VmEvent.QEMU_GUEST_AGENT_ERROR
    assert qga.payload.vir_domain_event is VirDomainEvent.STOPPED_FAILED
    assert qga.payload.instance_uuid == UUID("a3e1b7c2-5d4f-4e6a-9b8c-7d6e5f4a3b2c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T10:15:30Z", datetime(2025, 3, 1, 10, 15, 30, tzinfo=UTC)),
        ("2025-03-01 10:15:30", datetime(2025, 3, 1, 10, 15, 30, tzinfo=UTC)),
        ("2025-03-01T10:15:30", datetime(2025, 3, 1, 10, 15, 30, tzinfo=UTC)),
        ("2025-03-01 12:15:30.5+02:00", datetime(2025, 3, 1, 10, 15, 30, 500000, tzinfo=UTC)),
    ],
)
def test_generated_time_accepts_t_and_space(text: str, expected: datetime) -> None:
    document = load_example("notification_compute_host") | {"generated_time": text}
    assert parse_notification(document).generated_time == expected


@pytest.mark.parametrize("text", ["2025-02-30T10:00:00Z", "yesterday", "2025-03-01T10:15", "2025-03-01_10:15:30"])
def test_bad_generated_time_is_rejected(text: str) -> None:
    error = rejected(load_example("notification_compute_host") | {"generated_time": text})
    assert error.path == "generated_time"
    assert "date-time" in error.message


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"hostname": 42}, "hostname", "expected string, got integer"),
        ({"hostname": "h" * 256}, "hostname", "longer than 255"),
        ({"hostname": "bad host!"}, "hostname", "does not match"),
        ({"hostname": ""}, "hostname", "shorter than 1"),
        ({"type": "NETWORK"}, "type", '"NETWORK" is not one of'),
        ({"id": "not-a-uuid"}, "id", "not a valid UUID"),
        ({"source": "s" * 256}, "source", "longer than 255"),
        ({"payload": "STOPPED"}, "payload", "expected object, got string"),
        ({"extra": 1}, "extra", "not allowed"),
    ],
)
def test_bad_envelope_is_rejected(change: dict[str, Any], path: str, words: str) -> None:
    error = rejected(load_example("notification_compute_host") | change)
    assert error.path == path
    assert words in error.message
    assert str(error).startswith(f"{path}: ")


@pytest.mark.parametrize("field", ["id", "source", "type", "hostname", "generated_time", "payload"])
def test_missing_envelope_field_is_named(field: str) -> None:
    document = load_example("notification_vm")
    del document[field]
    error = rejected(document)
    assert (error.path, error.message) == (field, "required field is missing")


@pytest.mark.parametrize(
    ("example", "payload_change", "path", "words"),
    [
        ("notification_compute_host", {"event": "EXPLODED"}, "payload/event", '"EXPLODED" is not one of'),
        ("notification_compute_host", {"host_status": "normal"}, "payload/host_status", "not one of"),
        ("notification_compute_host", {"extra": "x"}, "payload/extra", "not allowed"),
        ("notification_vm", {"event": "FOO"}, "payload/event", '"FOO" is not one of'),
        ("notification_vm", {"vir_domain_event": "STOPPED_CRASHED"}, "payload/vir_domain_event", "not one of"),
        ("notification_vm", {"instance_uuid": "1234"}, "payload/instance_uuid", "not a valid UUID"),
        ("notification_process", {"event": "stopped"}, "payload/event", '"stopped" is not one of'),
        ("notification_process", {"process_name": "n" * 256}, "payload/process_name", "longer than 255"),
        ("notification_process", {"process_name": 7}, "payload/process_name", "expected string"),
    ],
)
def test_bad_payload_is_rejected(example: str, payload_change: dict[str, Any], path: str, words: str) -> None:
    document = load_example(example)
    document["payload"] |= payload_change
    error = rejected(document)
    assert error.path == path
    assert words in error.message


def test_missing_payload_field_is_named() -> None:
    document = load_example("notification_vm")
    del document["payload"]["instance_uuid"]
    assert rejected(document).path == "payload/instance_uuid"


def test_payload_must_match_the_type() -> None:
    document = load_example("notification_compute_host") | {"type": "PROCESS"}
    assert rejected(document).path.startswith("payload/")


def test_host_payload_without_statuses_is_accepted_and_not_invented() -> None:
    document = load_example("notification_compute_host")
    document["payload"] = {"event": "STOPPED"}
    notification = parse_notification(document)
    assert notification.payload == HostPayload(event=HostEvent.STOPPED)
    assert notification.to_dict()["payload"] == {"event": "STOPPED"}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"id": ', "malformed JSON at line 1"),
        (b"\xff\xfe{}", "malformed JSON"),
        ('{"hostname": NaN}', "malformed JSON"),
        (b"[]", "expected a JSON object, got array"),
        (b" " * (MAX_DOCUMENT_BYTES + 1), f"larger than {MAX_DOCUMENT_BYTES} bytes"),
    ],
)
def test_undecodable_message_is_rejected(raw: bytes | str, words: str) -> None:
    error = rejected(raw)
    assert error.path == ""
    assert words in error.message


def test_sender_side_validates_before_sending() -> None:
    notification = Notification(
        id=UUID("12345678-1234-4234-8234-123456789abc"),
        source="vmha-monitor/process@compute-1",
        hostname="compute 1",
        generated_time=datetime(2025, 3, 1, 10, 0, tzinfo=UTC),
        payload=ProcessPayload(event=ProcessEvent.STOPPED, process_name="nova-compute"),
    )
    with pytest.raises(ContractError) as caught:
        notification.to_dict()
    assert caught.value.path == "hostname"


def test_sender_side_formats_utc_time() -> None:
    notification = parse_notification(load_example("notification_process"))
    sent = Notification(
        id=notification.id,
        source=notification.source,
        hostname=notification.hostname,
        generated_time=datetime(2025, 3, 1, 10, 0),
        payload=notification.payload,
    ).to_dict()
    assert sent["type"] == "PROCESS"
    assert sent["generated_time"] == "2025-03-01T10:00:00Z"
