"""The schemas themselves: valid draft 2020-12, examples for every kind, enums equal to the Python ones."""

from enum import StrEnum
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from vmha.contracts import (
    ClusterStatus,
    FailureType,
    HostEvent,
    HostStatus,
    ProcessEvent,
    VirDomainEvent,
    VmEvent,
)
from vmha.templates import load_example, load_schema, schema_names

SCHEMA_NAMES = schema_names()
EXAMPLE_NAMES = sorted(
    entry.name.removesuffix(".json") for entry in resources.files("vmha.templates").joinpath("examples").iterdir()
)


def test_the_expected_schemas_and_examples_are_installed() -> None:
    assert SCHEMA_NAMES == ["common", "custom_flows", "custom_step_call", "fencing", "masakari_host",
                            "masakari_segment", "notification", "process_list", "settings", "step"]
    assert EXAMPLE_NAMES == [
        "custom_flows",
        "custom_step_call",
        "fencing",
        "masakari_host",
        "masakari_segment",
        "notification_compute_host",
        "notification_process",
        "notification_vm",
        "notification_vm_qga",
        "process_list",
        "settings",
        "step",
    ]


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/templates/{name}.schema.json")
    Draft202012Validator.check_schema(schema)


def test_settings_example_sets_every_field() -> None:
    def keys(document: dict[str, Any], schema: dict[str, Any]) -> None:
        assert set(document) == set(schema["properties"])
        for key, sub in schema["properties"].items():
            if "properties" in sub:
                keys(document[key], sub)

    keys(load_example("settings"), load_schema("settings"))


NOTIFICATION = load_schema("notification")
PAYLOADS = NOTIFICATION["$defs"]


@pytest.mark.parametrize(
    ("enum", "schema_values"),
    [
        (FailureType, NOTIFICATION["properties"]["type"]["enum"]),
        (HostEvent, PAYLOADS["compute_host_payload"]["properties"]["event"]["enum"]),
        (HostStatus, PAYLOADS["compute_host_payload"]["properties"]["host_status"]["enum"]),
        (ClusterStatus, PAYLOADS["compute_host_payload"]["properties"]["cluster_status"]["enum"]),
        (VmEvent, PAYLOADS["vm_payload"]["properties"]["event"]["enum"]),
        (VirDomainEvent, PAYLOADS["vm_payload"]["properties"]["vir_domain_event"]["enum"]),
        (ProcessEvent, PAYLOADS["process_payload"]["properties"]["event"]["enum"]),
    ],
)
def test_enums_equal_the_schema(enum: type[StrEnum], schema_values: list[str]) -> None:
    assert sorted(member.value for member in enum) == sorted(schema_values)
