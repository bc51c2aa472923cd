"""Step messages: one recovery step to run, on the steps queue (``step.schema.json``).

Beyond the schema, ``flow[position]`` must be the step itself, so a message can never run one step while
claiming to be at another's place in the flow.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast
from uuid import UUID

from vmha.contracts.errors import ContractError
from vmha.contracts.validation import Raw, check, decode, format_timestamp, parse_timestamp

ArgValue = str | int | float | bool | None | tuple[str, ...]
"""A step argument: a scalar, or a tuple of strings (a JSON array on the wire)."""


@dataclass(frozen=True)
class StepMessage:
    """Run ``step`` (attempt ``attempt``) of the flow recovering from notification ``notification_id``.

    ``instance_uuid`` is set on per-instance (fan-out) steps; ``args`` is read-only. ``not_before`` is set
    by the runtime on a wait longer than one Zaqar message delay.
    """

    notification_id: UUID
    step: str
    attempt: int
    flow: tuple[str, ...]
    position: int
    deadline: datetime
    instance_uuid: UUID | None = None
    args: Mapping[str, ArgValue] = field(default_factory=dict)
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", MappingProxyType(dict(self.args)))

    @property
    def idempotency_key(self) -> str:
        """``<notification_id>/<step>[/<instance_uuid>]``: the same for every attempt and redelivery of this step's
        run, so a side effect outside vmha (a webhook's, an operator's step's) can be made once under it."""
        parts = (str(self.notification_id), self.step, *([str(self.instance_uuid)] if self.instance_uuid else []))
        return "/".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The message to send, validated (raises ContractError)."""
        document: dict[str, Any] = {
            "notification_id": str(self.notification_id),
            "step": self.step,
            "attempt": self.attempt,
            "flow": {"steps": list(self.flow), "position": self.position},
            "deadline": format_timestamp(self.deadline),
        }
        if self.instance_uuid is not None:
            document["instance_uuid"] = str(self.instance_uuid)
        if self.args:
            document["args"] = {key: _to_json(value) for key, value in self.args.items()}
        if self.not_before is not None:
            document["not_before"] = format_timestamp(self.not_before)
        _check(document)
        return document


def parse_step_message(raw: Raw) -> StepMessage:
    """Validate a received step message and parse it; raises ContractError naming the offending field."""
    document = decode(raw)
    _check(document)
    instance_uuid = document.get("instance_uuid")
    not_before = document.get("not_before")
    return StepMessage(
        notification_id=UUID(document["notification_id"]),
        step=document["step"],
        attempt=document["attempt"],
        flow=tuple(document["flow"]["steps"]),
        position=document["flow"]["position"],
        deadline=parse_timestamp(document["deadline"], "deadline"),
        instance_uuid=None if instance_uuid is None else UUID(instance_uuid),
        args={key: _from_json(value) for key, value in document.get("args", {}).items()},
        not_before=None if not_before is None else parse_timestamp(not_before, "not_before"),
    )


def _check(document: dict[str, Any]) -> None:
    check("step", document)
    steps, position = document["flow"]["steps"], document["flow"]["position"]
    if position >= len(steps):
        raise ContractError(f"{position} is past the last step of the flow ({len(steps) - 1})", "flow/position")
    if steps[position] != document["step"]:
        raise ContractError(
            f"the flow has {steps[position]!r} at position {position}, not {document['step']!r}", "flow/position"
        )


def _to_json(value: ArgValue) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _from_json(value: Any) -> ArgValue:
    return tuple(value) if isinstance(value, list) else cast(ArgValue, value)
