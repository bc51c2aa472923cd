"""``vmha demo``: a live host failure and its recovery, on a cloud where hosts may be killed.

Deploys the vmha stack (unique names), starts a gateway in this process, boots HA-enabled servers on the
chosen host and a bystander on each other host, kills the host, reports the failure as a host monitor
would, shows detection, fencing and evacuation as they happen, and ends with a table of the host's
servers (old host, new host, state) and the measured recovery time. Afterwards it restores the host and
deletes what it made. The exit status is 0 only if every server of the killed host is ACTIVE elsewhere.

Seams: killing and restarting a host are commands given by the caller (``tools/demo`` passes the local
cloud's ``python -m tests.cloud kill-host|start-host {host}``: a real cloud never lets vmha kill hosts);
detection posts the COMPUTE_HOST notification at the instant of the kill, as a host monitor would, until
``--no-notify`` leaves it to a running ``vmha monitor host``.
"""

from vmha.demo.options import DemoOptions
from vmha.demo.run import run

__all__ = ["DemoOptions", "run"]
