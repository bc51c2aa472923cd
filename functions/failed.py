"""What the gateway runs when a recovery ends failed (``vmha gateway --on-failed vmha.functions:after_failure``):
the servers vmha locked for it are unlocked (``release_servers``), then the operator's ``on_failure`` steps of its
flow run (``vmha.functions.custom_steps``), even when the unlocking failed; the runtime logs what it raises."""

from __future__ import annotations

from vmha.context import StepContext
from vmha.functions.custom_steps import run_on_failure
from vmha.functions.registry import custom_flows
from vmha.functions.release import release_servers
from vmha.journal import NotificationRecord


def after_failure(record: NotificationRecord, ctx: StepContext) -> None:
    """Undo what must not outlive the failed recovery ``record``, then run its flow's ``on_failure`` steps."""
    try:
        release_servers(record, ctx)
    finally:
        run_on_failure(record, ctx, custom_flows(ctx.settings))
