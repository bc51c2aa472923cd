"""vmha's own events for Aodh's escalation alarms: a recovery that ended failed.

The event is published as an OpenStack notification on the cloud's RabbitMQ, in oslo.messaging's
``messagingv2`` envelope, to the ``nova`` exchange with the ``notifications.info`` routing key: Ceilometer's
notification agent listens there by default, turns it into an event of type ``vmha.notification.failed``
(traits ``service``, ``project_id``/``tenant_id`` from the payload's ``tenant_id``) and hands it to Aodh,
whose event alarms of that project fire (heat/alarms.yaml ``recovery_failed``). The event's message id is
the notification's id, so the alarm body names the recovery that failed.

``Escalation`` is the gateway's side: called by the one replica whose journal write failed a notification,
it publishes and notes the outcome in the notification's progress log; an unreachable broker is logged,
never raised, so the recovery path goes on.
"""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from kombu.connection import Connection
from kombu.entity import Exchange
from kombu.exceptions import KombuError

from vmha.contracts import EscalationOptions
from vmha.journal import Journal, NotificationRecord

EVENT_TYPE = "vmha.notification.failed"
EXCHANGE = "nova"
ROUTING_KEY = "notifications.info"
PROGRESS_STEP = "escalation"
"""The step name of the escalation's line in the notification's progress log."""

log = logging.getLogger(__name__)


class EscalationError(Exception):
    """The event could not be published; the message says why."""


@dataclass(frozen=True)
class FailedRecovery:
    """A notification whose recovery ended failed, and the project whose alarms are to see it."""

    notification_id: str
    type: str
    hostname: str
    reason: str
    project_id: str


def envelope(event: FailedRecovery, publisher: str, now: datetime) -> dict[str, str]:
    """The AMQP body oslo.messaging's messagingv2 driver would send for ``event``."""
    message = {
        "message_id": event.notification_id, "publisher_id": publisher, "event_type": EVENT_TYPE,
        "priority": "INFO", "timestamp": now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "payload": {"tenant_id": event.project_id, "notification_id": event.notification_id,
                    "type": event.type, "hostname": event.hostname, "reason": event.reason},
    }
    return {"oslo.version": "2.0", "oslo.message": json.dumps(message)}


def publish(transport_url: str, event: FailedRecovery, *, timeout: float = 10.0) -> None:
    """Publish ``event`` on the RabbitMQ of ``transport_url`` (oslo's ``rabbit://user:pass@host:port/``);
    EscalationError when the broker cannot be reached or refuses it."""
    body = envelope(event, f"vmha.{socket.gethostname()}", datetime.now(UTC))
    exchange = Exchange(EXCHANGE, type="topic", durable=False)
    url = transport_url.replace("rabbit://", "amqp://", 1)
    try:
        with Connection(url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1)
            connection.Producer().publish(body, exchange=exchange, routing_key=ROUTING_KEY, serializer="json",
                                          declare=[exchange], retry=False, timeout=timeout)
    except (OSError, KombuError) as error:
        raise EscalationError(f"cannot publish {EVENT_TYPE} for {event.notification_id}: {error}") from error


class Escalation:
    """Publishes the failed recoveries of one gateway (nothing when ``options.transport_url`` is empty)."""

    def __init__(self, options: EscalationOptions, journal: Journal, timeout: float = 10.0) -> None:
        self._options = options
        self._journal = journal
        self._timeout = timeout

    def failed(self, record: NotificationRecord) -> None:
        """Publish ``record``'s failure; a broker that cannot take it is logged and noted, never raised."""
        if not self._options.transport_url:
            return
        event = FailedRecovery(record.id, record.type, record.hostname, record.status_reason or "",
                               self._options.project_id)
        try:
            publish(self._options.transport_url, event, timeout=self._timeout)
        except EscalationError as error:
            log.warning("escalation not published", extra={"notification_id": record.id, "reason": str(error)})
            self._journal.add_progress_event(record.id, PROGRESS_STEP, f"operators not called: {error}", 1.0)
            return
        log.info("escalation published", extra={"notification_id": record.id, "event_type": EVENT_TYPE})
        self._journal.add_progress_event(record.id, PROGRESS_STEP, f"operators called: {EVENT_TYPE} published", 1.0)
