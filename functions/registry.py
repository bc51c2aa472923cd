"""The step table, as data; with the flows (``vmha.flows``, re-exported here) the single source of truth for
what runs in which order.

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
from types import MappingProxyType

from vmha import flows
from vmha.contracts import ContractError, CustomFlows, RetryPolicy, Settings
from vmha.flows import FLOWS, HOST_AUTO, HOST_RESERVED, PROCESS, VM, fences_before_evacuating, resolve_flow
from vmha.functions.custom_steps import custom_table, placement_problems
from vmha.functions.step_spec import StepSpec
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

__all__ = ["FLOWS", "HOST_AUTO", "HOST_RESERVED", "POLLING", "PROCESS", "STEPS", "VM", "StepSpec", "custom_flows",
           "fences_before_evacuating", "operator_steps", "resolve_flow"]

POLLING = RetryPolicy(
    max_attempts=1000, initial_delay_seconds=0, max_delay_seconds=60, multiplier=1.0, recheck_interval_seconds=1.0
)
"""Retry policy of the steps that wait for Nova: no backoff of its own, the step asks for its delay (the
settings' ``retry.recheck_interval_seconds``) and ends the wait itself at its ceiling (``settings.ceilings``,
measured from the journal), so the attempts are not what limits it."""


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


def custom_flows(settings: Settings) -> CustomFlows | None:
    """The operator's flows from ``settings.custom_flows_file``, checked against STEPS (``vmha.flows``) and with
    their own steps where they may stand (``vmha.functions.custom_steps``); ContractError otherwise."""
    found = flows.custom_flows(settings, STEPS)
    if found is None:
        return None
    problems = placement_problems(found, settings, {key: spec.per_instance for key, spec in STEPS.items()})
    if problems:
        raise ContractError("; ".join(problems), settings.custom_flows_file)
    return found


def operator_steps(settings: Settings) -> dict[str, StepSpec]:
    """The table entries of the operator's own steps of the custom flows file, for the gateway to add to its table
    (their entry points loaded: ContractError for one that is not installed or does not load)."""
    found = custom_flows(settings)
    return custom_table(found, settings) if found is not None else {}
