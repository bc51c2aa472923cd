"""The step table, the flows, custom flows, and the handler adapter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from vmha.contracts import (
    ContractError,
    CustomFlows,
    FailureType,
    FlowSteps,
    RecoveryMethod,
    StepMessage,
    parse_custom_flows,
)
from vmha.functions import FLOWS, STEPS, intake, resolve_flow
from vmha.functions.handler import intake_handler, outcome_from_dict, outcome_to_dict, step_handler
from vmha.functions.registry import HOST_AUTO, HOST_RESERVED
from vmha.journal import Journal
from vmha.outcomes import Done, Fail, Ignore, Outcome, Recover, Retry, Skipped
from vmha.runtime.table import table_problems
from vmha.templates import load_example, load_schema

from .functions_support import World, host_down, make_world
from .journal_support import FakeClock


def test_every_flow_is_runnable_with_the_table() -> None:
    for flow in FLOWS.values():
        steps = flow.steps
        assert set(steps) <= set(STEPS)
        assert not STEPS[steps[0]].per_instance
        for position, step in enumerate(steps):
            if STEPS[step].per_instance:  # a branch follows the step that fans out, and a join follows it
                assert STEPS[steps[position - 1]].per_instance or steps[position - 1] == "plan_evacuation"
            if STEPS[step].join:
                assert STEPS[steps[position - 1]].per_instance
    assert {key for key, spec in STEPS.items() if key != spec.id} == set()


def test_every_step_runs_within_the_shortest_claim_a_gateway_may_take() -> None:
    shortest = load_schema("settings")["properties"]["gateway"]["properties"]["claim_ttl_seconds"]["minimum"]
    assert table_problems(STEPS, shortest) == []


def test_every_host_flow_fences_and_guards_before_changing_anything() -> None:
    for (failure, _method), flow in FLOWS.items():
        if failure is FailureType.COMPUTE_HOST:
            assert flow.steps[:3] == ("guard_mass_failure", "fence_host", "disable_compute_service")


def test_custom_flows_replace_the_defaults_per_type_and_method() -> None:
    custom = parse_custom_flows(load_example("custom_flows"), STEPS)
    assert resolve_flow(FailureType.VM, None, custom) == custom.vm.steps  # type: ignore[union-attr]
    auto = resolve_flow(FailureType.COMPUTE_HOST, RecoveryMethod.AUTO, custom)
    assert auto == custom.host_auto.steps  # type: ignore[union-attr]
    for method in (RecoveryMethod.RESERVED_HOST, RecoveryMethod.AUTO_PRIORITY, RecoveryMethod.RH_PRIORITY):
        assert resolve_flow(FailureType.COMPUTE_HOST, method, custom) == custom.host_reserved_host.steps  # type: ignore[union-attr]
    only_vm = CustomFlows(vm=FlowSteps((), ("start_instance",), ()))
    assert resolve_flow(FailureType.COMPUTE_HOST, None, only_vm) == HOST_AUTO.steps
    assert resolve_flow(FailureType.COMPUTE_HOST, RecoveryMethod.RH_PRIORITY) == HOST_RESERVED.steps


def test_custom_flows_naming_unknown_steps_are_refused() -> None:
    with pytest.raises(ContractError, match="evacuate_everything"):
        parse_custom_flows({"VM": {"pre": [], "main": ["evacuate_everything"], "post": []}}, STEPS)


@pytest.mark.parametrize("outcome", [
    Done({"a": 1}, (uuid.uuid4(),)), Skipped("nothing", {"b": [1]}), Retry("later", 3.0), Fail("no"), Ignore("dup"),
    Recover(("a", "b"), "segment-a", "auto"), Recover(()),
])
def test_outcomes_round_trip(outcome: Outcome | Recover) -> None:
    assert outcome_from_dict(outcome_to_dict(outcome)) == outcome


def test_malformed_outcomes_are_refused() -> None:
    with pytest.raises(ContractError):
        outcome_from_dict({"outcome": "retry", "reason": "x"})
    with pytest.raises(ContractError):
        outcome_from_dict({"outcome": "maybe"})


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def test_step_handler_runs_a_step_from_a_lambda_event(world: World) -> None:
    notification = world.recorded(host_down())
    world.nova.service_by_host["compute1"].alive = False
    message = StepMessage(notification.id, "disable_compute_service", 1, HOST_AUTO.steps, 2,
                          datetime(2030, 1, 1, tzinfo=UTC))
    answer = step_handler("disable_compute_service")(message.to_dict(), world.context(notification))
    assert answer["outcome"] == "done" and answer["result"]["host"] == "compute1"
    assert world.nova.service_by_host["compute1"].status == "disabled"


def test_handlers_answer_bad_input_with_a_clear_failure(world: World) -> None:
    notification = world.recorded(host_down())
    context = world.context(notification)
    answer = step_handler("fence_host")({"step": "fence_host"}, context)
    assert answer["outcome"] == "fail" and "invalid step message" in answer["reason"]
    message = StepMessage(notification.id, "fence_host", 1, HOST_AUTO.steps, 1, datetime(2030, 1, 1, tzinfo=UTC))
    wrong = step_handler("plan_evacuation")(message.to_dict(), context)
    assert wrong["outcome"] == "fail" and "sent to plan_evacuation" in wrong["reason"]
    bad = intake_handler({"id": "nope"}, context)
    assert bad["outcome"] == "fail" and "invalid notification" in bad["reason"]


def test_intake_handler_and_the_exported_intake(world: World) -> None:
    notification = world.notification(host_down())
    answer = intake_handler(notification.to_dict(), world.context(notification))
    assert answer == {"outcome": "recover", "flow": list(HOST_AUTO.steps), "segment": "segment-a",
                      "recovery_method": "auto"}
    assert outcome_from_dict(answer) == Recover(HOST_AUTO.steps, "segment-a", "auto")
    again = intake(notification, world.context(notification))
    assert again == Recover(HOST_AUTO.steps, "segment-a", "auto")
