"""vmha's ``GET /v1/flows/{type}[?recovery_method=]``: the steps a failure of that type runs on this gateway,
in order, the operator's flows (``settings.custom_flows_file``) included (``vmha.flows``).

``{"flow": {"type", "recovery_method", "steps": [{"position", "name", "kind", "per_instance", "timeout_seconds"}],
"on_failure": [{"name", "kind", "per_instance", "timeout_seconds"}]}}``, ``kind`` being ``built-in``, ``entry_point`` or
``webhook`` (the operator's own steps);
``recovery_method`` applies to COMPUTE_HOST only (default auto). 400 for an unknown type or method, or a
method given for another type; 503 when the operator's flows file can no longer be read or checked (the
gateway checked it at start).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from vmha.api.web import ApiError, reply
from vmha.contracts import ContractError, FailureType, RecoveryMethod, Settings, StepKind
from vmha.flows import chosen_flow, custom_flows
from vmha.runtime import StepTable


class Flows:
    """The flow route."""

    def __init__(self, settings: Settings, table: StepTable) -> None:
        self._settings = settings
        self._table = table

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        kind, method = _kind(params["type"]), _method(request.GET.get("recovery_method"))
        if method is not None and kind is not FailureType.COMPUTE_HOST:
            raise ApiError(400, "recovery_method applies to COMPUTE_HOST only")
        table = self._table
        try:
            custom = custom_flows(self._settings, table)
        except (ContractError, OSError) as error:
            raise ApiError(503, f"the operator's flows file cannot be used: {error}") from error
        chosen = chosen_flow(kind, method, custom)
        missing = [step for step in (*chosen.steps, *chosen.on_failure) if step not in table]
        if missing:
            raise ApiError(503, f"this gateway's step table has no step {missing[0]} of the {kind.value} flow")
        kinds = {} if custom is None else {step.id: step.kind for step in custom.steps.values()}

        def view(step: str) -> dict[str, Any]:
            return {"name": step, "kind": kinds.get(step, StepKind.BUILT_IN).value,
                    "per_instance": table[step].per_instance, "timeout_seconds": table[step].timeout_seconds}

        return reply(200, {"flow": {
            "type": kind.value,
            "recovery_method": (method or RecoveryMethod.AUTO).value if kind is FailureType.COMPUTE_HOST else None,
            "steps": [{"position": position, **view(step)} for position, step in enumerate(chosen.steps, start=1)],
            "on_failure": [view(step) for step in chosen.on_failure]}})


def _kind(given: str) -> FailureType:
    try:
        return FailureType(given)
    except ValueError:
        raise ApiError(400, f"unknown failure type {given}: one of {', '.join(FailureType)}") from None


def _method(given: str | None) -> RecoveryMethod | None:
    if given is None:
        return None
    try:
        return RecoveryMethod(given)
    except ValueError:
        raise ApiError(400, f"unknown recovery_method {given}: one of {', '.join(RecoveryMethod)}") from None
