"""The notification status state machine, as data.

Masakari's machine (spec §3.5) with one addition: `new -> finished` lets the intake close a notification
that needs no recovery (e.g. a host STARTED event) without passing through `running`.
Setting the status a notification already has is a no-op, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from vmha.journal.records import NotificationStatus as S

TRANSITIONS: Final[Mapping[S, frozenset[S]]] = {
    S.NEW: frozenset({S.RUNNING, S.FINISHED, S.IGNORED, S.FAILED}),
    S.RUNNING: frozenset({S.FINISHED, S.IGNORED, S.ERROR, S.FAILED}),
    S.ERROR: frozenset({S.RUNNING, S.FAILED}),
    S.FINISHED: frozenset(),
    S.IGNORED: frozenset(),
    S.FAILED: frozenset(),
}

TERMINAL: Final = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
"""Statuses a notification never leaves."""

UNDER_WAY: Final = frozenset({S.NEW, S.RUNNING})
"""Statuses of a notification whose recovery (or failback) is still under way."""


def allowed_sources(target: S) -> frozenset[S]:
    """The statuses from which `target` may be entered."""
    return frozenset(status for status, targets in TRANSITIONS.items() if target in targets)
