"""The default flows and how a failure's flow is chosen: data on step ids, shared by the intake (which fixes a
notification's flow) and the gateway's API (``GET /v1/flows/{type}``), so neither imports the other.

A flow is a ``FlowSteps`` (pre, main, post) of step ids; the step table that runs them is the caller's
(``vmha.functions.registry.STEPS`` in a real gateway). The operator's flows (``settings.custom_flows_file``)
replace the defaults where given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

from vmha.contracts import (
    ContractError,
    CustomFlows,
    FailureType,
    FlowSteps,
    RecoveryMethod,
    Settings,
    load_custom_flows,
)

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
    return chosen_flow(failure_type, recovery_method, custom).steps


def chosen_flow(
    failure_type: FailureType, recovery_method: RecoveryMethod | None, custom: CustomFlows | None = None
) -> FlowSteps:
    """The flow of a failure (its steps, its ``on_failure`` list), as ``resolve_flow`` chooses it."""
    method = (recovery_method or RecoveryMethod.AUTO) if failure_type is FailureType.COMPUTE_HOST else None
    default = FLOWS[(failure_type, method)]
    override = None
    if custom is not None:
        override = {
            FailureType.VM: custom.vm,
            FailureType.PROCESS: custom.process,
            FailureType.COMPUTE_HOST: custom.host_auto if method is RecoveryMethod.AUTO else custom.host_reserved_host,
        }[failure_type]
    return override or default


def custom_flows(settings: Settings, known_steps: Collection[str]) -> CustomFlows | None:
    """The operator's flows from ``settings.custom_flows_file``, checked against ``known_steps``; None without
    one.

    Raises ContractError naming the field or the unknown step ids, or a host flow that would evacuate
    without fencing first (``fence_host`` before ``evacuate_instance``), OSError for an unreadable file.
    """
    if not settings.custom_flows_file:
        return None
    flows = load_custom_flows(settings.custom_flows_file, known_steps)
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
