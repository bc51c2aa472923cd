"""Whether a host that left the group is reported, decided from independent evidence (pure).

Leaving the group says only that the host's monitor stopped heartbeating to the coordination engine. Before
reporting, the leader asks two paths that do not go through it: Nova (does nova-compute still report over
the message bus?) and the host's BMC (is the power off?).

==================================================  =========================================
evidence                                            decision
==================================================  =========================================
BMC reports power off                               report, host_status NORMAL (proof)
Nova reports the service down or forced down        report, host_status UNKNOWN
Nova shows it up but its last report is stale       report, host_status UNKNOWN
Nova shows it up with a fresh report                wait: the host is alive (monitor or link)
Nova cannot be asked, BMC not off                   wait and ask again
==================================================  =========================================

The report claims no more than it saw (Masakari's meaning of the field): ``NORMAL`` only when the BMC said
the power is off. Nova's view says that nova-compute stopped talking, not that the host stopped running
its servers (a management-network partition looks the same), so it makes an ``UNKNOWN`` report: the
recovery flow then fences the host through its BMC before anything is moved (``fence_host``), and a
segment that opts out of fencing ignores it. ``cluster_status`` is always OFFLINE: the host left the group.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmha.contracts import ClusterStatus, HostEvent, HostPayload, HostStatus
from vmha.fencing import PowerState


@dataclass(frozen=True)
class NovaView:
    """The host's nova-compute service as Nova shows it; ``reachable`` False when Nova could not be asked."""

    reachable: bool
    down: bool = False
    report_age_seconds: float | None = None


@dataclass(frozen=True)
class Evidence:
    """What the independent paths said about one host."""

    nova: NovaView
    power: PowerState | None  # None: no BMC configured, or it did not answer


@dataclass(frozen=True)
class Verdict:
    """Report the host (with ``payload``) or wait, and why."""

    reason: str
    payload: HostPayload | None = None


def decide(evidence: Evidence, stale_after: float) -> Verdict:
    """The decision table of the module docstring."""
    nova = evidence.nova
    if evidence.power is PowerState.OFF:
        return _report("its BMC reports the power off", HostStatus.NORMAL)
    if nova.reachable and nova.down:
        return _report("Nova reports its nova-compute down", HostStatus.UNKNOWN)
    if nova.reachable and (nova.report_age_seconds is None or nova.report_age_seconds >= stale_after):
        return _report(f"its nova-compute has not reported to Nova for {stale_after:g} s or more", HostStatus.UNKNOWN)
    if nova.reachable:
        return Verdict("Nova shows its nova-compute up and reporting: the host is alive")
    return Verdict("Nova cannot be asked and the BMC does not report the power off")


def _report(reason: str, status: HostStatus) -> Verdict:
    return Verdict(reason, HostPayload(HostEvent.STOPPED, status, ClusterStatus.OFFLINE))
