"""Everything a runtime component uses, built once per process and passed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vmha.contracts import Settings
from vmha.journal import Clock, Journal, utc_now
from vmha.nova_news import NEWS, NovaNews
from vmha.runtime.queues import Queues
from vmha.runtime.table import FailedHook, IntakeFunction, StepTable
from vmha.versioned_notifications import OFF, VersionedNotifier

LEASE_MARGIN = timedelta(seconds=10)
"""A step's journal lease outlasts its timeout by this much, so a timed-out run is never taken over early."""
SweepHook = Callable[[Settings, Journal, Any], object]
"""What the sweeper also runs on each of its looks (e.g. ``vmha.returns.look_once``); must be safe on every
replica at once, bound every call it makes, and never wait for anything."""


@dataclass(frozen=True)
class Services:
    """The settings, journal, queues, step table, intake and OpenStack connection of one gateway."""

    settings: Settings
    journal: Journal
    queues: Queues
    table: StepTable
    intake: IntakeFunction
    cloud: Any
    clock: Clock = utc_now
    intake_timeout_seconds: float = 50.0
    on_failed: FailedHook | None = None
    events: VersionedNotifier = OFF
    """Masakari's versioned notifications (``vmha.versioned_notifications``)."""
    on_sweep: SweepHook | None = None
    news: NovaNews = NEWS
    """What this process heard from Nova's versioned notifications (``vmha.nova_news``)."""

    @property
    def ceiling(self) -> timedelta:
        """How long a notification may take to reach a terminal status."""
        return timedelta(seconds=self.settings.ceilings.notification_seconds)
