"""What the gateway's sweeper runs besides failing overdue notifications (``vmha gateway --on-sweep``, default
``vmha.sweeps:look_once``): returns recovered hosts to service (``vmha.returns``), then drives the failbacks
under way (``vmha.failback``). A look that fails is logged and does not keep the other from running."""

from __future__ import annotations

import logging
from typing import Any

from vmha import failback, returns
from vmha.contracts import Settings
from vmha.journal import Journal

log = logging.getLogger(__name__)


def look_once(settings: Settings, journal: Journal, cloud: Any) -> None:
    """One look of each: the returns first, so that a return that completes starts its failback at once."""
    for look in (returns.look_once, failback.look_once):
        try:
            look(settings, journal, cloud)
        except Exception:  # the sweeper's hook: logged, the other look still runs, the next sweep looks again
            log.exception("sweep look failed", extra={"look": f"{look.__module__}.{look.__name__}"})
