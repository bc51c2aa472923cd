"""Return to service: a host vmha recovered comes back (its BMC reports the power on, its nova-compute reports
again although forced down), and vmha undoes what the recovery did, as the host's segment says
(``vmha:return_to_service``: ``manual`` records it and changes nothing, ``auto`` returns it), or as an operator
asks (``POST /v1/hosts/{name}/return``). A host that fails again within its segment's flap window of its last
return stays out until an operator returns it. Never a host with a recovery under way, never one whose BMC
does not report the power on; nothing is started on the returned host by the return itself (a segment with
``vmha:failback auto`` then starts the failback, ``vmha.failback``).

The gateway runs ``look_once`` on its sweeper thread (``vmha gateway --on-sweep``, default
``vmha.sweeps:look_once``).
"""

from vmha.returns.decision import Verdict
from vmha.returns.look import Look, ReturnRefusedError, look_once, return_host

__all__ = ["Look", "ReturnRefusedError", "Verdict", "look_once", "return_host"]
