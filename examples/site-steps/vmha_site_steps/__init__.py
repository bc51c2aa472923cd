"""An operator's own recovery step, run by vmha like its built-in ones: ``run(message, ctx) -> Outcome``.

``note_instance`` records where a recovered server now runs, once per step run: the step message's
``idempotency_key`` (the same on every attempt and redelivery) keys the side effect, here a line in the file
named by ``VMHA_SITE_STEPS_LOG`` (a real site would open a ticket or move a DNS record under that key).
"""

from __future__ import annotations

import os
from pathlib import Path

from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.outcomes import Done, Fail, Outcome, Skipped


def note_instance(message: StepMessage, ctx: StepContext) -> Outcome:
    """Note the server of a per-instance step and the host it runs on now."""
    if message.instance_uuid is None:
        return Skipped("not a per-instance step: no server to note")
    server = ctx.cloud.compute.find_server(str(message.instance_uuid), ignore_missing=True)
    if server is None:
        return Fail(f"server {message.instance_uuid} is gone")
    log = Path(os.environ.get("VMHA_SITE_STEPS_LOG", "vmha-site-steps.log"))
    key = message.idempotency_key
    seen = log.read_text().splitlines() if log.exists() else []
    if not any(line.startswith(key + " ") for line in seen):
        with log.open("a") as out:
            out.write(f"{key} {server.compute_host}\n")
    return Done({"noted_host": server.compute_host})
