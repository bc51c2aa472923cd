"""When a recovery ends failed, however it ends (a step's Fail, or the ceiling's sweeper): the servers vmha
locked for it are unlocked, so no tenant is left with a server it cannot act on. A server its owner or an
operator had locked before (``InstancePlan.locked``) stays locked. Loaded by the gateway as its failure hook
(``vmha gateway --on-failed vmha.functions:after_failure`` calls it first); the runtime logs what it raises.
"""

from __future__ import annotations

import logging

from vmha.cloud.nova import get_server
from vmha.context import StepContext
from vmha.functions.evacuation import plans
from vmha.journal import NotificationRecord

log = logging.getLogger(__name__)


def release_servers(record: NotificationRecord, ctx: StepContext) -> None:
    """Unlock every server the failed recovery ``record`` locked that is still locked."""
    detail = ctx.journal.get_notification(record.id, with_events=False)
    if detail is None:
        return
    for uuid, plan in plans(detail).items():
        server = None if plan.locked else get_server(ctx.cloud, uuid)
        if server is not None and server.is_locked:
            ctx.cloud.compute.unlock_server(server)
            log.info("server unlocked after a failed recovery", extra={"notification_id": record.id,
                                                                        "instance_uuid": uuid})
