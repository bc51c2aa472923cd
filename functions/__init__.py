"""Recovery functions (installed as ``vmha.functions``): one recovery step per module, Lambda-style handlers.

What the gateway loads (``vmha gateway --steps vmha.functions:STEPS --intake vmha.functions:intake
--on-failed vmha.functions:after_failure``): ``STEPS``, the step table (plus the operator's own steps of the
custom flows file, ``operator_steps``), ``intake``, the function deciding what a notification needs, and
``after_failure``, what is undone (and the operator's ``on_failure`` steps) when a recovery fails.

- ``registry``: ``STEPS``, the default ``FLOWS``, ``resolve_flow`` (the runtime contract is in its docstring);
- ``triage``: ``intake`` itself: records a notification and picks its flow, or ignores it with a reason;
- ``steps``: the recovery steps, ``run(message, ctx) -> Outcome`` each;
- ``handler``: ``handler(event, context) -> dict`` for every step and for intake;
- ``locks``: tooz locks between gateway replicas (one recovery per host, reserved-host choice, evacuation
  slots), at ``settings.coordination_url``;
- ``segments``: failover segments as Nova host aggregates with ``vmha:`` metadata (every key documented).
"""

from vmha.functions.failed import after_failure
from vmha.functions.registry import FLOWS, STEPS, StepSpec, custom_flows, operator_steps, resolve_flow
from vmha.functions.release import release_servers
from vmha.functions.triage import run as intake

__all__ = ["FLOWS", "STEPS", "StepSpec", "after_failure", "custom_flows", "intake", "operator_steps", "release_servers",
           "resolve_flow"]
