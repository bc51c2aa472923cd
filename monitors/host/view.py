"""What one host monitor knows of its segment's group: who is in it, and who left and is not yet settled.

Pure bookkeeping, the same on every member so that a member that becomes leader already knows who left
while another led. A member is known by its host name and the incarnation it joined with (a fresh id per
join), so a host that failed, came back and failed again is a new departure with a new notification id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

_IDS = uuid.UUID("5f0c1a8e-3b7d-4c52-9e61-0d4a8b2f7c19")
"""Namespace of the notification ids: every leader derives the same id for the same departure."""


@dataclass(frozen=True)
class Departure:
    """A host that left the group: the incarnation it left with and when this monitor noticed."""

    host: str
    incarnation: str
    noticed_at: float

    def notification_id(self, group: str) -> uuid.UUID:
        """The same id whichever leader reports it, so a repeated report is a duplicate the intake drops."""
        return uuid.uuid5(_IDS, f"{group}/{self.host}/{self.incarnation}")

    @property
    def key(self) -> str:
        return f"{self.host}.{self.incarnation}"


@dataclass
class GroupView:
    """Members seen in the last poll and departures not yet reported (or rejoined)."""

    me: str
    members: dict[str, str] = field(default_factory=dict)
    departed: dict[str, Departure] = field(default_factory=dict)

    def observe(self, members: Mapping[str, str], now: float) -> list[Departure]:
        """Take the group's current members (host -> incarnation); return the new departures."""
        current = {host: incarnation for host, incarnation in members.items() if host != self.me}
        new = [Departure(host, incarnation, now) for host, incarnation in self.members.items()
               if current.get(host) != incarnation]
        for departure in new:
            self.departed[departure.key] = departure
        for key in [key for key, departure in self.departed.items() if departure.host in current]:
            del self.departed[key]  # back in the group: nothing to report any more
        self.members = current
        return new

    def settle(self, departure: Departure) -> None:
        """Forget a departure that has been reported (by this monitor or another leader)."""
        self.departed.pop(departure.key, None)
