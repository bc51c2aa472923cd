"""``GET /v1/flows/{type}`` answered by ``vmha.api.flows`` with the real step table and settings: the default
flows, the operator's flows file, and the refusals (no HTTP server needed: the handler takes a webob request)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import webob

from vmha.api.flows import Flows
from vmha.api.web import ApiError
from vmha.contracts import parse_settings
from vmha.flows import HOST_AUTO, VM
from vmha.functions import STEPS, operator_steps


def shown(kind: str, query: str = "", flows_file: str | None = None) -> Any:
    settings = parse_settings({"custom_flows_file": flows_file} if flows_file else {}, {})
    answer = Flows(settings, STEPS).show(webob.Request.blank(f"/v1/flows/{kind}{query}"), {"type": kind})
    return json.loads(answer.body)["flow"]


def test_the_default_flows_with_their_steps() -> None:
    vm = shown("VM")
    assert (vm["type"], vm["recovery_method"], [step["name"] for step in vm["steps"]]) == ("VM", None, list(VM.steps))
    host = shown("COMPUTE_HOST")
    assert (host["recovery_method"], [step["name"] for step in host["steps"]]) == ("auto", list(HOST_AUTO.steps))
    evacuate = next(step for step in host["steps"] if step["name"] == "evacuate_instance")
    assert evacuate == {"position": HOST_AUTO.steps.index("evacuate_instance") + 1, "name": "evacuate_instance",
                        "kind": "built-in", "per_instance": True,
                        "timeout_seconds": STEPS["evacuate_instance"].timeout_seconds}
    assert host["on_failure"] == []


def test_the_operators_own_steps_show_with_their_kind_in_place_and_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text(json.dumps({
        "steps": {"cs_note": {"entry_point": "note_instance", "per_instance": True, "timeout_seconds": 5},
                  "cs_page": {"webhook": "http://127.0.0.1:9/page"}},
        "COMPUTE_HOST": {"auto": {"pre": ["fence_host", "disable_compute_service"], "main": ["plan_evacuation"],
                                  "post": ["evacuate_instance", "confirm_instance_evacuated", "cs_note",
                                           "finish_host_recovery", "cs_page"], "on_failure": ["cs_page"]}}}))
    settings = parse_settings({"custom_flows_file": str(path), "custom_steps": {"webhook_secret": "s"}}, {})
    table = {**STEPS, **operator_steps(settings)}
    answer = Flows(settings, table).show(webob.Request.blank("/v1/flows/COMPUTE_HOST"), {"type": "COMPUTE_HOST"})
    flow = json.loads(answer.body)["flow"]
    assert [(step["name"], step["kind"]) for step in flow["steps"][-4:]] == [
        ("confirm_instance_evacuated", "built-in"), ("cs_note", "entry_point"), ("finish_host_recovery", "built-in"),
        ("cs_page", "webhook")]
    assert flow["steps"][-3]["per_instance"] is True and flow["steps"][-3]["timeout_seconds"] == 5
    assert flow["on_failure"] == [{"name": "cs_page", "kind": "webhook", "per_instance": False, "timeout_seconds": 10}]


def test_the_operators_flows_replace_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text("PROCESS: {pre: [], main: [disable_compute_node], post: []}\n")
    assert [step["name"] for step in shown("PROCESS", flows_file=str(path))["steps"]] == [
        "disable_compute_node"]
    path.write_text("PROCESS: {pre: [], main: [reboot_host], post: []}\n")
    with pytest.raises(ApiError) as refused:
        shown("PROCESS", flows_file=str(path))
    assert refused.value.status == 503 and "reboot_host" in refused.value.message


@pytest.mark.parametrize(("kind", "query", "words"), [
    ("REBOOT", "", "unknown failure type REBOOT"),
    ("COMPUTE_HOST", "?recovery_method=sideways", "unknown recovery_method sideways"),
    ("VM", "?recovery_method=auto", "recovery_method applies to COMPUTE_HOST only"),
])
def test_bad_requests_are_400(kind: str, query: str, words: str) -> None:
    with pytest.raises(ApiError) as refused:
        shown(kind, query)
    assert refused.value.status == 400 and words in refused.value.message
