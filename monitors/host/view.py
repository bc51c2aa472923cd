"""What the leader knows of its segment's group: who departed (enrolled, no longer a member) and is not settled.

Pure bookkeeping. Departures are read from the group's enrollments on every pass, so a member that becomes
leader finds every departure its predecessors had not settled, including hosts it never saw as members. A
member is known by its host name and the incarnation it joined with (a fresh id per join), so a host that
failed, came back and failed again is a new departure with a new notification id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_IDS = uuid.UUID("5f0c1a8e-3b7d-4c52-9e61-0d4a8b2f7c19")
"""Namespace of the notification ids: every leader derives the same id for the same departure."""


@dataclass(frozen=True)
class Departure:
    """A host that left the group, and the incarnation it left with."""

    host: str
    incarnation: str

    def notification_id(self, group: str) -> uuid.UUID:
        """The same id whichever leader reports it, so a repeated report is a duplicate the intake drops."""
        return uuid.uuid5(_IDS, f"{group}/{self.host}/{self.incarnation}")

    @property
    def key(self) -> str:
        return f"{self.host}.{self.incarnation}"


@dataclass
class GroupView:
    """The departures of the last pass."""

    me: str
    departed: dict[str, Departure] = field(default_factory=dict)

    def observe(self, members: Mapping[str, str], enrolled: Iterable[tuple[str, str]]) -> list[Departure]:
        """Take the live members (host -> incarnation) and the enrollments (host, incarnation); return the
        departures not seen before. A host back in the group under a new incarnation has nothing to report."""
        current = [Departure(host, incarnation) for host, incarnation in enrolled
                   if host != self.me and host not in members]
        new = [departure for departure in current if departure.key not in self.departed]
        self.departed = {departure.key: departure for departure in current}
        return new
