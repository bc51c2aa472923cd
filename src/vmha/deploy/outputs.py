"""The outputs of a deployed vmha stack, typed: what the gateway's settings and the monitors need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Deployment:
    """A stack's outputs (see heat/vmha.yaml)."""

    stack_id: str
    status: str
    queues: Mapping[str, str]
    """Queue names by role: notifications, steps, dead_letters."""
    subscriptions: Mapping[str, str]
    webhook_urls: Mapping[str, str]
    function_urls: Mapping[str, str]
    routes: Mapping[str, str]
    alarm_ids: Mapping[str, str | None]
    segment_ids: tuple[str, ...]
    segment_names: tuple[str, ...]

    @classmethod
    def from_stack(cls, stack: Any) -> Deployment:
        """Read a stack fetched from Heat; KeyError names an output the template did not give."""
        values = {item["output_key"]: item.get("output_value") for item in stack.outputs or ()}
        return cls(
            stack_id=str(stack.id),
            status=str(stack.status),
            queues=dict(values["queues"]),
            subscriptions=dict(values["subscriptions"]),
            webhook_urls=dict(values["webhook_urls"]),
            function_urls=dict(values["function_urls"]),
            routes=dict(values["routes"]),
            alarm_ids=dict(values["alarm_ids"]),
            segment_ids=tuple(str(item) for item in values["segment_ids"] or ()),
            segment_names=tuple(str(item) for item in values["segment_names"] or ()),
        )
