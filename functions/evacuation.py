"""How one server is evacuated, decided from its state on the failed host (Masakari's table, spec §4.4).

======================================================  ==================  ==========================
state on the failed host                                before evacuating   after evacuating
======================================================  ==================  ==========================
active, no task                                         -                   -
stopped, no task                                        -                   (Nova keeps it stopped)
error, no task                                          -                   stop, reset to error
active / stopped / error with a task in progress        reset to error      stop unless it was active;
                                                                            error again if it was
resized, paused, suspended, shelved, rescued, ...       reset to error      stop, except a resized
                                                                            server still powered on
======================================================  ==================  ==========================

A server that was not locked is locked while vmha evacuates it and unlocked afterwards; one locked by
someone else stays locked and is evacuated all the same. The plan is taken once, before anything is
changed, and recorded in the journal: later steps read the original state from it, not from Nova.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vmha.functions.records import step_result
from vmha.journal import JsonObject, NotificationDetail

_PLAIN_STATES = frozenset({"active", "error", "stopped"})
POWER_SHUTDOWN = 4
PLANNED = "planned"
"""The progress message of a server ``plan_evacuation`` recorded ``pending``, before anything was asked of Nova."""


@dataclass(frozen=True)
class InstancePlan:
    """What to do around one server's evacuation."""

    vm_state: str
    locked: bool
    reset_to_error: bool
    stop_after: bool
    error_after: bool

    def to_dict(self) -> dict[str, Any]:
        """The plan as recorded in the journal."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: JsonObject) -> InstancePlan:
        """The plan as read back from the journal."""
        return cls(**{key: data[key] for key in ("vm_state", "locked", "reset_to_error", "stop_after", "error_after")})


def plan_for(server: Any) -> InstancePlan:
    """The plan for ``server`` as Nova shows it on the failed host."""
    vm_state, task_state = str(server.vm_state), server.task_state
    locked = bool(server.is_locked)
    if vm_state not in _PLAIN_STATES:
        still_running = vm_state == "resized" and server.power_state != POWER_SHUTDOWN
        return InstancePlan(vm_state, locked, reset_to_error=True, stop_after=not still_running, error_after=False)
    if task_state is not None:
        return InstancePlan(
            vm_state,
            locked,
            reset_to_error=True,
            stop_after=vm_state != "active",
            error_after=vm_state == "error",
        )
    is_error = vm_state == "error"
    return InstancePlan(vm_state, locked, reset_to_error=False, stop_after=is_error, error_after=is_error)


def plans(detail: NotificationDetail) -> dict[str, InstancePlan]:
    """The recorded plan of every server ``plan_evacuation`` planned, by server id."""
    return {uuid: InstancePlan.from_dict(plan) for uuid, plan in _recorded(detail).items()}


def planned(detail: NotificationDetail, instance_uuid: object) -> InstancePlan | None:
    """The recorded plan of one server, None if ``plan_evacuation`` did not plan it (only that plan is built: every
    step of every server asks for its own, and building all of them each time costs the square of the servers)."""
    plan = None if instance_uuid is None else _recorded(detail).get(str(instance_uuid))
    return None if plan is None else InstancePlan.from_dict(plan)


def planned_count(detail: NotificationDetail) -> int:
    """How many servers ``plan_evacuation`` planned."""
    return len(_recorded(detail))


def _recorded(detail: NotificationDetail) -> JsonObject:
    recorded: JsonObject = (step_result(detail, "plan_evacuation") or {}).get("instances", {})
    return recorded
