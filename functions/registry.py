"""The step table and the flows, as data: the single source of truth for what runs in which order.

Runtime contract (``vmha.runtime`` implements it):

- intake (``vmha.functions.intake``) resolves a notification's flow with ``resolve_flow`` and returns
  it as ``Recover(flow)``; the runtime posts ``flow[0]``.
- After ``Done`` it posts ``flow[position + 1]``. When ``Done.fan_out`` is non-empty, the following
  ``per_instance`` steps run once per instance uuid, as independent branches, and the ``join`` step after
  them runs once, when every branch has ended. An empty fan-out goes straight to the ``join`` step.
- ``Skipped`` moves on like ``Done`` (on a per-instance branch: to the branch's next step).
- ``Retry(delay)`` re-posts the same step after ``delay`` seconds (``retry`` overrides the settings'
  policy: the steps that wait for Nova use ``POLLING`` and end their waits themselves at their ceilings).
- ``Fail`` ends the notification ``failed``. A per-instance step never fails the notification: it records
  the instance ``failed`` and returns Skipped, and the ``join`` step must still run: it puts an unused
  reserved host back and then fails the notification naming the failed instances.
- ``timeout_seconds`` bounds one run (the journal lease); every one is below Zaqar's smallest claim TTL
  (60 s), so a gateway may claim messages for that long (the runtime refuses a table whose steps could
  outlast their claim).
- The runtime records every Done/Skipped result with ``Journal.finish_step``/``skip_step``: later steps
  read them back (``vmha.functions.records``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from vmha.contracts import (
    ContractError,
    CustomFlows,
    FailureType,
    FlowSteps,
    RecoveryMethod,
    RetryPolicy,
    Settings,
    load_custom_flows,
)
from vmha.functions.nova import StepRun
from vmha.functions.steps import (
    confirm_compute_node_disabled,
    confirm_instance_active,
    confirm_instance_evacuated,
    disable_compute_node,
    disable_compute_service,
    evacuate_instance,
    fence_host,
    finish_host_recovery,
    guard_mass_failure,
    plan_evacuation,
    start_instance,
    stop_instance,
    take_reserved_host,
)

POLLING = RetryPolicy(
    max_attempts=1000, initial_delay_seconds=0, max_delay_seconds=60, multiplier=1.0, recheck_interval_seconds=1.0
)
"""Retry policy of the steps that wait for Nova: no backoff of its own, the step asks for its delay (the
settings' ``retry.recheck_interval_seconds``) and ends the wait itself at its ceiling (``settings.ceilings``,
measured from the journal), so the attempts are not what limits it."""


@dataclass(frozen=True)
class StepSpec:
    """One entry of the step table."""

    id: str
    run: StepRun
    per_instance: bool = False
    join: bool = False
    timeout_seconds: int = 30
    retry: RetryPolicy | None = None


STEPS: Mapping[str, StepSpec] = MappingProxyType({spec.id: spec for spec in (
    StepSpec("guard_mass_failure", guard_mass_failure.run),
    StepSpec("fence_host", fence_host.run, timeout_seconds=45, retry=POLLING),
    StepSpec("disable_compute_service", disable_compute_service.run, retry=POLLING),
    StepSpec("take_reserved_host", take_reserved_host.run),
    StepSpec("plan_evacuation", plan_evacuation.run, timeout_seconds=50),
    StepSpec("evacuate_instance", evacuate_instance.run, per_instance=True, retry=POLLING),
    StepSpec("confirm_instance_evacuated", confirm_instance_evacuated.run, per_instance=True, retry=POLLING),
    StepSpec("finish_host_recovery", finish_host_recovery.run, join=True),
    StepSpec("stop_instance", stop_instance.run, retry=POLLING),
    StepSpec("start_instance", start_instance.run),
    StepSpec("confirm_instance_active", confirm_instance_active.run, retry=POLLING),
    StepSpec("disable_compute_node", disable_compute_node.run),
    StepSpec("confirm_compute_node_disabled", confirm_compute_node_disabled.run, retry=POLLING),
)})

_HOST_PRE = ("guard_mass_failure", "fence_host", "disable_compute_service")
_EVACUATE = ("plan_evacuation", "evacuate_instance", "confirm_instance_evacuated")
HOST_AUTO = FlowSteps(pre=_HOST_PRE, main=_EVACUATE[:1], post=(*_EVACUATE[1:], "finish_host_recovery"))
HOST_RESERVED = FlowSteps(pre=_HOST_PRE, main=("take_reserved_host", *_EVACUATE), post=("finish_host_recovery",))
VM = FlowSteps(pre=("stop_instance",), main=("start_instance",), post=("confirm_instance_active",))
PROCESS = FlowSteps(pre=("disable_compute_node",), main=("confirm_compute_node_disabled",), post=())

FlowKey = tuple[FailureType, RecoveryMethod | None]
FLOWS: Mapping[FlowKey, FlowSteps] = MappingProxyType({
    (FailureType.COMPUTE_HOST, RecoveryMethod.AUTO): HOST_AUTO,
    (FailureType.COMPUTE_HOST, RecoveryMethod.RESERVED_HOST): HOST_RESERVED,
    (FailureType.COMPUTE_HOST, RecoveryMethod.AUTO_PRIORITY): HOST_RESERVED,
    (FailureType.COMPUTE_HOST, RecoveryMethod.RH_PRIORITY): HOST_RESERVED,
    (FailureType.VM, None): VM,
    (FailureType.PROCESS, None): PROCESS,
})
"""Default flows. The three reserved-host methods share one flow: ``take_reserved_host`` applies the
method (a spare, the scheduler, or a fallback between them)."""


def resolve_flow(
    failure_type: FailureType, recovery_method: RecoveryMethod | None, custom: CustomFlows | None = None
) -> tuple[str, ...]:
    """The step ids to run for a failure, the operator's custom flow replacing the default where given.

    Custom ``COMPUTE_HOST.reserved_host`` also serves auto_priority and rh_priority (as in Masakari).
    """
    method = (recovery_method or RecoveryMethod.AUTO) if failure_type is FailureType.COMPUTE_HOST else None
    default = FLOWS[(failure_type, method)]
    override = None
    if custom is not None:
        override = {
            FailureType.VM: custom.vm,
            FailureType.PROCESS: custom.process,
            FailureType.COMPUTE_HOST: custom.host_auto if method is RecoveryMethod.AUTO else custom.host_reserved_host,
        }[failure_type]
    return (override or default).steps


def custom_flows(settings: Settings) -> CustomFlows | None:
    """The operator's flows from ``settings.custom_flows_file``, checked against STEPS; None without one.

    Raises ContractError naming the field or the unknown step ids, or a host flow that would evacuate
    without fencing first (``fence_host`` before ``evacuate_instance``), OSError for an unreadable file.
    """
    if not settings.custom_flows_file:
        return None
    flows = load_custom_flows(settings.custom_flows_file, STEPS)
    host_flows = (("COMPUTE_HOST/auto", flows.host_auto), ("COMPUTE_HOST/reserved_host", flows.host_reserved_host))
    for path, flow in host_flows:
        if flow is not None and not fences_before_evacuating(flow.steps):
            raise ContractError(f"the custom flow evacuates servers without running fence_host before "
                                f"evacuate_instance ({', '.join(flow.steps)}): a segment that must not fence says "
                                "so itself (vmha:fencing disabled)", path)
    return flows


def fences_before_evacuating(steps: tuple[str, ...]) -> bool:
    """Whether a host flow runs ``fence_host`` before it evacuates anything (or evacuates nothing)."""
    if "evacuate_instance" not in steps:
        return True
    return "fence_host" in steps and steps.index("fence_host") < steps.index("evacuate_instance")
