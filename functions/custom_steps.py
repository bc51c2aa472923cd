"""The operator's own steps (the custom flows file's ``steps``) as step table entries, where they may stand, and
their ``on_failure`` runs.

Two kinds, one contract: a Python function registered under the entry-point group ``vmha.steps``
(``run(message, ctx) -> Outcome``, like every built-in step, behind the same OpenStack error boundary), or a
webhook (``vmha.functions.webhook_step``). Both get the step's timeout, retries from its ``max_attempts`` (delays
from the settings' retry policy) and the step message's ``idempotency_key``.

Safety (the first rule): a custom step's id is never a built-in step's, so no custom step stands in for
``fence_host`` and the host flows still need the real one before ``evacuate_instance``; a custom step runs with
the fencing file withheld from its settings (it cannot reach a BMC through vmha), and in a host recovery that
fenced the host, a custom step that leaves the host's nova-compute service enabled or up again fails the recovery
instead of letting it finish as if the host were still fenced.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import timedelta
from importlib.metadata import entry_points
from uuid import UUID

from vmha.cloud.nova import compute_service
from vmha.context import RunContext, StepContext
from vmha.contracts import (
    ContractError,
    CustomFlows,
    CustomStep,
    FailureType,
    FlowSteps,
    RecoveryMethod,
    Settings,
    StepKind,
    StepMessage,
)
from vmha.flows import chosen_flow
from vmha.functions.nova import StepRun, at_boundary
from vmha.functions.step_spec import StepSpec
from vmha.functions.webhook_step import webhook_step
from vmha.journal import NotificationRecord, StepClaim, StepKey
from vmha.outcomes import Done, Fail, Outcome, Skipped
from vmha.runtime.execute import execute
from vmha.runtime.services import LEASE_MARGIN

ENTRY_POINT_GROUP = "vmha.steps"
_GUARDED_AFTER = "disable_compute_service"
"""In a host flow, once this step has put the host's nova-compute down, custom steps must leave it so."""


def placement_problems(flows: CustomFlows, settings: Settings, built_in: Mapping[str, bool]) -> list[str]:
    """What is wrong with where ``flows`` put their custom steps; ``built_in``: the table's ids -> per_instance."""
    problems = [f"the custom step {step} has the id of a built-in step: a custom step cannot stand in for one"
                for step in flows.steps if step in built_in]
    per_instance = {**built_in, **{step.id: step.per_instance for step in flows.steps.values()}}
    for name, flow in _flows(flows):
        problems += [f"{name}: {problem}" for problem in _flow_problems(flow, flows, per_instance)]
    if not settings.custom_steps.webhook_secret and any(s.kind is StepKind.WEBHOOK for s in flows.steps.values()):
        problems.append("webhook steps need custom_steps.webhook_secret (settings file or "
                        "VMHA_CUSTOM_STEPS_WEBHOOK_SECRET) to sign their calls")
    return problems


def _flows(flows: CustomFlows) -> list[tuple[str, FlowSteps]]:
    named = (("COMPUTE_HOST/auto", flows.host_auto), ("COMPUTE_HOST/reserved_host", flows.host_reserved_host),
             ("VM", flows.vm), ("PROCESS", flows.process))
    return [(name, flow) for name, flow in named if flow is not None]


def _flow_problems(flow: FlowSteps, flows: CustomFlows, per_instance: Mapping[str, bool]) -> list[str]:
    problems = []
    steps = flow.steps
    for position, step in enumerate(steps):
        before = per_instance[steps[position - 1]] if position else False
        if step in flows.steps and per_instance[step] and not before:
            problems.append(f"the per-instance step {step} must follow a per-instance step (e.g. "
                            "confirm_instance_evacuated: each instance ACTIVE again)")
        if step in flows.steps and not per_instance[step] and before:
            problems.append(f"the custom step {step} cannot end a branch of per-instance steps: the built-in step "
                            "after them judges the instances (place it after that one)")
    problems += [f"on_failure runs once per recovery: {step} is per-instance"
                 for step in flow.on_failure if per_instance[step]]
    return problems


def custom_table(flows: CustomFlows, settings: Settings) -> dict[str, StepSpec]:
    """The table entries of ``flows``'s own steps; ContractError for an entry point that is not installed or does
    not load."""
    return {step.id: StepSpec(step.id, guarded(step.id, _run_of(step)), step.per_instance,
                              timeout_seconds=step.timeout_seconds, kind=step.kind,
                              retry=dataclasses.replace(settings.retry, max_attempts=step.max_attempts))
            for step in flows.steps.values()}


def _run_of(step: CustomStep) -> StepRun:
    if step.kind is StepKind.WEBHOOK:
        return webhook_step(step)
    return at_boundary(entry_point(step))


def entry_point(step: CustomStep) -> StepRun:
    """The function ``step`` names in the group ``vmha.steps``; ContractError naming what is wrong."""
    where = f"steps/{step.id}/entry_point"
    found = entry_points(group=ENTRY_POINT_GROUP, name=step.target)
    if not found:
        installed = ", ".join(sorted(point.name for point in entry_points(group=ENTRY_POINT_GROUP))) or "none"
        raise ContractError(f"no entry point {step.target!r} in the group {ENTRY_POINT_GROUP} (installed: "
                            f"{installed})", where)
    point = next(iter(found))
    try:
        target = point.load()
    except Exception as error:  # the operator's package: any import error is a start-up error
        raise ContractError(f"the entry point {step.target} ({point.value}) does not load: "
                            f"{type(error).__name__}: {error}", where) from error
    if not callable(target):
        raise ContractError(f"the entry point {step.target} ({point.value}) is not a function", where)
    run: StepRun = target
    return run


def guarded(step_id: str, run: StepRun) -> StepRun:
    """``run`` with the fencing file withheld from its settings and, in a host recovery past
    ``disable_compute_service``, the host's nova-compute checked still disabled and down after it."""

    @functools.wraps(run)
    def guarded_run(message: StepMessage, ctx: StepContext) -> Outcome:
        settings = dataclasses.replace(ctx.settings, fencing_file="")
        withheld = RunContext(ctx.request_id, ctx.notification, settings, ctx.journal, ctx.cloud, ctx.now,
                              ctx.deadline)
        outcome = run(message, withheld)
        if isinstance(outcome, Done | Skipped) and _host_put_down(message, ctx):
            return _fence_kept(step_id, ctx) or outcome
        return outcome

    return guarded_run


def _host_put_down(message: StepMessage, ctx: StepContext) -> bool:
    if ctx.notification.type is not FailureType.COMPUTE_HOST or _GUARDED_AFTER not in message.flow:
        return False
    return message.flow.index(_GUARDED_AFTER) < message.position


def _fence_kept(step_id: str, ctx: StepContext) -> Fail | None:
    service = compute_service(ctx.cloud, ctx.notification.hostname)
    if service is None or (service.status == "disabled" and service.is_forced_down):
        return None
    return Fail(f"the custom step {step_id} left the fenced host {ctx.notification.hostname}'s nova-compute "
                f"{service.status} and {'down' if service.is_forced_down else 'up'}: a step after fencing may not "
                "undo it")


def run_on_failure(record: NotificationRecord, ctx: StepContext, flows: CustomFlows | None) -> None:
    """Run the custom ``on_failure`` steps of ``record``'s flow once each, in order, each within its timeout,
    recorded like any step run (a recovery failed again by a redelivery finds them recorded: none runs twice)."""
    method = RecoveryMethod(record.recovery_method) if record.recovery_method else None
    flow = chosen_flow(FailureType(record.type), method, flows).on_failure if flows is not None else ()
    if not flow or flows is None:
        return
    table = custom_table(flows, ctx.settings)
    for step in flow:
        _run_once(record, table[step], ctx, flow)


def _run_once(record: NotificationRecord, step: StepSpec, ctx: StepContext, flow: tuple[str, ...]) -> None:
    journal = ctx.journal
    claim = journal.begin_step(StepKey(record.id, step.id, ""), timedelta(seconds=step.timeout_seconds) + LEASE_MARGIN)
    if not isinstance(claim, StepClaim):
        return
    message = StepMessage(notification_id=UUID(record.id), step=step.id, attempt=1, flow=flow,
                          position=flow.index(step.id), deadline=ctx.deadline)
    journal.add_progress_event(record.id, step.id, "on_failure: attempt 1 started", 0.0)
    labels = {"notification_id": record.id, "step": step.id, "on_failure": True}
    outcome = execute(lambda: step.run(message, ctx), step.timeout_seconds, step.id, labels)
    if isinstance(outcome, Done | Skipped):
        journal.finish_step(claim, dict(outcome.result))
        journal.add_progress_event(record.id, step.id, "on_failure: succeeded", 1.0)
    else:
        reason = getattr(outcome, "reason", type(outcome).__name__)
        journal.fail_step(claim, reason)
        journal.add_progress_event(record.id, step.id, f"on_failure: failed: {reason}", 1.0)
