"""Failback: once a host vmha recovered is back in service, the servers its last recovery evacuated are
live-migrated back to it, as its segment says (``vmha:failback``: ``none`` leaves them, ``auto`` starts the
failback when the return to service completes, ``vmha.returns``) or as an operator asks
(``POST /v1/hosts/{name}/failback``; ``DELETE`` cancels: no further migration starts, the running ones finish).

A failback is a notification of vmha's own type ``VMHA_FAILBACK`` in the journal, one vmove per server
(``vmha.failback.records``), shown by the notification and vmove routes. Only servers still on the host the
recovery moved them to, ACTIVE, idle and unlocked move (the others are ignored with the reason); at most
``failback.max_parallel`` at a time, each within ``failback.migration_seconds``. Never while a host recovery
of the segment is under way, never onto a host that is not back in service, one failback of a host at a time.

The gateway's sweeper drives the failbacks under way (``vmha.failback.drive``, through ``vmha.sweeps``).
"""

from vmha.failback.drive import look_once
from vmha.failback.start import FailbackRefusedError, after_return, cancel_failback, start_failback

__all__ = ["FailbackRefusedError", "after_return", "cancel_failback", "look_once", "start_failback"]
