"""One entry of the step table (``vmha.functions.registry.STEPS``, and the operator's own steps of
``vmha.functions.custom_steps``): the runtime's ``vmha.runtime.Step`` with vmha's extras."""

from __future__ import annotations

from dataclasses import dataclass

from vmha.contracts import RetryPolicy, StepKind
from vmha.functions.nova import StepRun


@dataclass(frozen=True)
class StepSpec:
    """One entry of the step table; ``kind``: built in, or the operator's (an entry point, a webhook)."""

    id: str
    run: StepRun
    per_instance: bool = False
    join: bool = False
    timeout_seconds: int = 30
    retry: RetryPolicy | None = None
    kind: StepKind = StepKind.BUILT_IN
