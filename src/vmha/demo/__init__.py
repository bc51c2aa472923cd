"""``vmha demo``: a live host failure and its recovery, on a cloud where hosts may be killed.

Deploys the vmha stack (unique names; its segment requires fencing by default), starts a ``vmha monitor
host`` process per host of the segment and a gateway in this process, boots HA-enabled servers on the
chosen host and a bystander on each other host, then kills the host as a power loss would: its nova-compute
and its host monitor at once. The clock starts there. It shows detection (the surviving monitors' leader and
the evidence it reported on), fencing (the BMC's confirmed power-off) and evacuation as they happen, and ends
with a table of the host's servers (old host, new host, state) and the measured recovery time. Afterwards
it stops the monitors, powers the host on through its BMC, restores it and deletes what it made, also on a
failure, Ctrl-C or SIGTERM. The exit status is 0 only if every server of the killed host is ACTIVE elsewhere.

Seams: killing and restarting a host are commands given by the caller (``tools/demo`` passes the local
cloud's ``python -m tests.cloud kill-host|start-host {host}``: a real cloud never lets vmha kill hosts), as
are the monitors' coordination engine and the fencing file with the hosts' BMCs.
"""

from vmha.demo.options import DemoOptions
from vmha.demo.run import run

__all__ = ["DemoOptions", "run"]
