"""``vmha drill``: fail a canary host through the real pipeline and judge the recovery against its segment.

A drill boots a few HA-enabled canary servers pinned to the host, powers the host off through its BMC (the
credentials fencing uses: the way a real host dies), and watches the deployed pipeline do the rest: the host
monitors of its peers detect it, the gateway fences it (its BMC already reports the power off) and evacuates
the canaries. Then it powers the host on through its BMC, waits for its nova-compute to report again,
returns it to service through the gateway's API (``POST /v1/hosts/{name}/return``) and prints the verdict:
each phase's seconds from the power-off against the segment's ``vmha:rto_seconds``, and each canary's move
with its count of evacuations in Nova's instance actions. The canaries are deleted at the end, also on a
failure, Ctrl-C or SIGTERM. Exit status 0 only when every canary was evacuated exactly once to another host
and is ACTIVE there, the recovery met the objective (when the segment declares one) and the host is back.

Nothing is changed when a check refuses (``vmha.drill.checks``): unknown host, a host in no segment or in
another segment, a disabled segment or one whose fencing is disabled (a drill powers a host off: it rehearses
the fenced pipeline, never an evacuation without proof), a host down, disabled, forced down or in
maintenance, a host whose BMC is not in the fencing file or reports the power off, a recovery under way in
the segment, or servers on the host the drill did not boot (unless ``--include-existing``).

vmha's own state (notifications, the RTO report, the return) is read and changed through the gateway's API,
found in the Keystone catalog as ``instance-ha``; Nova (the canaries, the host's service), the segment's
aggregate and the BMC with the operator's credentials.
"""

from vmha.drill.checks import DrillError
from vmha.drill.options import DrillOptions
from vmha.drill.run import run

__all__ = ["DrillError", "DrillOptions", "run"]
