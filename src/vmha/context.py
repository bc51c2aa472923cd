"""What a recovery step is given besides its message: the step context (Lambda's ``context``).

The runtime builds one per step run. Steps use only what is here; they never read global configuration,
open their own OpenStack connections or sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from vmha.contracts import Notification, Settings
from vmha.journal import Journal

# Nova compute microversion for every recovery call: below 2.95 an evacuated ACTIVE server comes back
# ACTIVE (2.95+ leaves it stopped); 2.53 identifies services by UUID (PUT /os-services/{id}).
COMPUTE_MICROVERSION = "2.53"


class StepContext(Protocol):
    """Per-run context. ``cloud`` is an openstacksdk Connection pinned to COMPUTE_MICROVERSION and shared
    by the whole process (one keep-alive session, never one login per call)."""

    @property
    def request_id(self) -> str: ...

    @property
    def notification(self) -> Notification: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def journal(self) -> Journal: ...

    @property
    def cloud(self) -> Any: ...

    @property
    def now(self) -> Callable[[], datetime]: ...

    @property
    def deadline(self) -> datetime: ...
