"""Step messages: the example round-trips, the flow position must name the step itself."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from vmha.contracts import ContractError, StepMessage, parse_step_message
from vmha.templates import load_example


def rejected(document: Any) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_step_message(document)
    return caught.value


def test_example_round_trips() -> None:
    example = load_example("step")
    message = parse_step_message(example)
    assert message.step == "evacuate_instance"
    assert message.flow[message.position] == message.step
    assert message.instance_uuid == UUID("a3e1b7c2-5d4f-4e6a-9b8c-7d6e5f4a3b2c")
    assert message.deadline == datetime(2025, 3, 1, 11, 15, 30, tzinfo=UTC)
    assert message.args == {"target_host": "compute-4", "priority": 10}
    assert message.to_dict() == example


def test_optional_fields_are_left_out_when_unset() -> None:
    message = StepMessage(
        notification_id=UUID("6f1c2a0e-3b7d-4c5e-9a14-2d8e7f60b3c1"),
        step="stop_instance",
        attempt=1,
        flow=("stop_instance", "start_instance"),
        position=0,
        deadline=datetime(2025, 3, 1, 11, 0, tzinfo=UTC),
    )
    sent = message.to_dict()
    assert "instance_uuid" not in sent
    assert "args" not in sent
    assert parse_step_message(sent) == message


def test_list_arguments_travel_as_tuples_and_args_are_read_only() -> None:
    document = load_example("step")
    document["args"] = {"reserved_hosts": ["compute-8", "compute-9"]}
    message = parse_step_message(document)
    assert message.args["reserved_hosts"] == ("compute-8", "compute-9")
    assert message.to_dict()["args"] == {"reserved_hosts": ["compute-8", "compute-9"]}
    with pytest.raises(TypeError):
        message.args["reserved_hosts"] = ()  # type: ignore[index]


@pytest.mark.parametrize(
    ("position", "words"),
    [(2, "has 'plan_evacuation' at position 2, not 'evacuate_instance'"), (6, "past the last step")],
)
def test_position_must_point_at_the_step(position: int, words: str) -> None:
    document = load_example("step")
    document["flow"]["position"] = position
    error = rejected(document)
    assert error.path == "flow/position"
    assert words in error.message


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"attempt": 0}, "attempt", "less than 1"),
        ({"attempt": "1"}, "attempt", "expected integer"),
        ({"step": "Evacuate"}, "step", "not a valid step id"),
        ({"notification_id": "x"}, "notification_id", "not a valid UUID"),
        ({"deadline": "2025-13-01T00:00:00Z"}, "deadline", "not a valid date-time"),
        ({"args": {"k": "v" * 1025}}, "args/k", ""),
        ({"args": {f"k{i}": i for i in range(17)}}, "args", "more than 16 fields"),
        ({"flow": {"steps": [], "position": 0}}, "flow/steps", "fewer than 1 items"),
        ({"retries": 3}, "retries", "not allowed"),
    ],
)
def test_bad_step_message_is_rejected(change: dict[str, Any], path: str, words: str) -> None:
    error = rejected(load_example("step") | change)
    assert error.path == path
    assert words in error.message


def test_sender_side_validates_before_sending() -> None:
    message = parse_step_message(load_example("step"))
    wrong = StepMessage(
        notification_id=message.notification_id,
        step="confirm_instance_evacuated",
        attempt=1,
        flow=message.flow,
        position=message.position,
        deadline=message.deadline,
    )
    with pytest.raises(ContractError) as caught:
        wrong.to_dict()
    assert caught.value.path == "flow/position"


def test_not_before_round_trips_and_is_left_out_when_unset() -> None:
    document = load_example("step") | {"not_before": "2025-03-01T11:30:00Z"}
    message = parse_step_message(document)
    assert message.not_before == datetime(2025, 3, 1, 11, 30, tzinfo=UTC)
    assert message.to_dict() == document
    assert "not_before" not in parse_step_message(load_example("step")).to_dict()
