"""Custom flows: pre/main/post step ids per failure type, checked against the known step ids."""

from pathlib import Path
from typing import Any

import pytest

from vmha.contracts import ContractError, CustomFlows, FlowSteps, load_custom_flows, parse_custom_flows
from vmha.templates import load_example

KNOWN = {
    "fence_host",
    "disable_compute_service",
    "plan_evacuation",
    "evacuate_instance",
    "confirm_instance_evacuated",
    "finish_host_recovery",
    "stop_instance",
    "start_instance",
    "confirm_instance_active",
    "disable_compute_node",
    "confirm_compute_node_disabled",
}


def rejected(document: Any) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_custom_flows(document, KNOWN)
    return caught.value


def test_example_is_parsed() -> None:
    flows = parse_custom_flows(load_example("custom_flows"), KNOWN)
    assert flows.vm == FlowSteps(pre=("stop_instance",), main=("start_instance",), post=("confirm_instance_active",))
    assert flows.process is not None
    assert flows.process.post == ()
    assert flows.host_reserved_host is not None
    assert flows.host_reserved_host.main == ("plan_evacuation", "evacuate_instance", "confirm_instance_evacuated")
    assert flows.host_auto is not None
    assert flows.host_auto.steps[:3] == ("fence_host", "disable_compute_service", "plan_evacuation")


def test_flows_left_out_keep_the_built_in_default(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text("VM:\n  pre: []\n  main: [start_instance]\n  post: [confirm_instance_active]\n")
    flows = load_custom_flows(path, KNOWN)
    assert flows == CustomFlows(vm=FlowSteps(pre=(), main=("start_instance",), post=("confirm_instance_active",)))


def test_unknown_step_ids_are_named() -> None:
    document = load_example("custom_flows")
    document["COMPUTE_HOST"]["auto"]["pre"][0] = "fence_hots"
    document["VM"]["main"] = ["restart_instance"]
    error = rejected(document)
    assert error.path == "COMPUTE_HOST/auto/pre/0"
    assert "'fence_hots' at COMPUTE_HOST/auto/pre/0" in error.message
    assert "'restart_instance' at VM/main/0" in error.message
    assert "known step ids: confirm_compute_node_disabled" in error.message


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        ({"VM": {"pre": [], "post": []}}, "VM/main", "required field is missing"),
        ({"VM": {"pre": [], "main": [], "post": []}}, "VM/main", "fewer than 1 items"),
        ({"HOST": {}}, "HOST", "not allowed"),
        ({"COMPUTE_HOST": {"auto_priority": {}}}, "COMPUTE_HOST/auto_priority", "not allowed"),
        ({"PROCESS": {"pre": [], "main": ["Disable Node"], "post": []}}, "PROCESS/main/0", "not a valid step id"),
        ({"PROCESS": {"pre": [], "main": ["stop_instance"] * 21, "post": []}}, "PROCESS/main", "more than 20"),
    ],
)
def test_bad_flow_file_is_rejected(document: Any, path: str, words: str) -> None:
    error = rejected(document)
    assert error.path == path
    assert words in error.message
