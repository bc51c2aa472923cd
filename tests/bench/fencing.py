"""The fencing paths the recovery benchmark measures: which fake host each can fail, and what the journal must show.

A kind names the fence method the journal must record for the failed host (``Journal.get_fence``) and the
hosts it can fail. The local cloud's fencing.yaml (``tests.cloud.bootstrap.write_fencing_config``) gives
compute1-3 a Redfish BMC and compute4 an IPMI one, so ``redfish`` fails the last free Redfish host and
``ipmi`` compute4. ``selffence`` is the BMC-less path (README, "Proof without a BMC"): any free host, its BMC
silenced and its monitor cut off, so that only its self-fence lease proves it dead (``tests.bench.self_fenced``,
end to end only: ``--detected``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.cloud.layout import Layout
from vmha.fencing import Protocol, load_fencing_config
from vmha.journal import FenceMethod, Journal

Hosts = Callable[[Layout], frozenset[str]]


@dataclass(frozen=True)
class Kind:
    """One fencing path: its name in scenario labels and ``--fencing``, the method the journal must record, and
    the hosts it can fail."""

    name: str
    method: FenceMethod
    hosts: Hosts
    lease: bool = False
    """Only the host's self-fence lease proves it dead: its BMC silenced, its monitor cut off with its domains."""


@dataclass(frozen=True)
class Fenced:
    """The fence the journal recorded for a run's failed host."""

    method: str
    evidence: dict[str, Any]
    """The BMC's address and answer (``fence_host``'s record; never a password)."""
    at: float
    """Seconds after t0 (the kill) the fence was recorded."""

    def line(self) -> str:
        shown = ", ".join(f"{key} {value}" for key, value in sorted(self.evidence.items()))
        return f"fenced by {self.method} at {self.at:.2f} s: {shown}"


def bmc_hosts(protocol: Protocol) -> Hosts:
    """The hosts whose BMC the local cloud's fencing file reaches over ``protocol``."""
    def hosts(layout: Layout) -> frozenset[str]:
        return frozenset(host for host, access in load_fencing_config(layout.fencing_yaml).items()
                         if access.protocol is protocol)

    return hosts


def every_host(layout: Layout) -> frozenset[str]:
    """Every host of the local cloud's fencing file."""
    return frozenset(load_fencing_config(layout.fencing_yaml))


KINDS = {kind.name: kind for kind in (
    Kind("redfish", FenceMethod.REDFISH, bmc_hosts(Protocol.REDFISH)),
    Kind("ipmi", FenceMethod.IPMI, bmc_hosts(Protocol.IPMI)),
    Kind("selffence", FenceMethod.SELF_FENCE, every_host, lease=True),
)}


def parse(text: str) -> list[Kind]:
    """Comma-separated kind names; ValueError naming the unknown one."""
    names = [item for item in text.split(",") if item]
    unknown = [name for name in names if name not in KINDS]
    if unknown or not names:
        named = ", ".join(unknown) if unknown else repr(text)
        raise ValueError(f"unknown fencing {named}; known: {', '.join(KINDS)}")
    return [KINDS[name] for name in names]


def fenced(journal: Journal, notification_id: str, host: str, t0: datetime) -> Fenced | None:
    """The host's fence recorded for the notification, None if none was."""
    record = journal.get_fence(notification_id, host)
    if record is None:
        return None
    return Fenced(record.method.value, dict(record.evidence), (record.fenced_at - t0).total_seconds())


def mismatch(kind: Kind | None, seen: Fenced | None) -> str | None:
    """Why the run does not measure the fencing asked for (None: it does, or none was asked)."""
    if kind is None:
        return None
    if seen is None:
        return f"no fence recorded, {kind.method.value} asked"
    if seen.method != kind.method.value:
        return f"fenced by {seen.method}, {kind.method.value} asked"
    return None


def names(kinds: Sequence[Kind | None]) -> list[str | None]:
    return [None if kind is None else kind.name for kind in kinds]
