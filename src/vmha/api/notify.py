"""Posting a notification to the notifications queue: the one durable entry of every recovery."""

from __future__ import annotations

from vmha.contracts import Notification
from vmha.runtime import Services


def enqueue(services: Services, notification: Notification) -> None:
    """Post ``notification`` (validated by ``to_dict``) for the consumers' intake."""
    settings = services.settings
    services.queues.post(settings.queues.notifications, notification.to_dict(),
                         ttl=settings.monitor.sink.message_ttl_seconds)
