"""Nova's versioned notifications heard on the message bus, to wake the looks this process holds.

Nova (``notification_format`` versioned or both) publishes oslo.messaging's messagingv2 envelopes on its
exchange (``nova_notifications.exchange``) with the routing keys ``<topic>.info`` and ``<topic>.error``. The
listener binds a queue of its own to both: exclusive to its connection, deleted when it closes, named after
the process, so every gateway replica hears every event (each holds different looks) and none takes an
event from the queues of Nova's other consumers (Ceilometer's pool, the default ``<topic>.info`` queue);
the broker drops the oldest events beyond ``MAX_QUEUED``, so a stuck listener cannot fill it.

An ``instance.*`` event names its server (``nova_object.data.uuid``): the server is followed
(``vmha.nova_news``), and an event telling it may have settled (any ``instance.*.end`` or ``.error``, or an
``instance.update`` with no task left: the one that clears an evacuation's task, the conductor's to ERROR when
no host is found, and the one of the server's move to its new host, which Nova makes after
``instance.rebuild.end``) is news for its looks; it wakes those held for it (``HeldMessages.wake``) unless they
await the server's move off the host it names and it tells of no error (``NovaNews.leaving``). Any other event
of the server (a task begun, a lock) makes earlier news stale. Nothing else is read from it. The broker down,
unreachable or refusing the queue is logged and counted, and tried again after a pause growing to
``MAX_PAUSE``; meanwhile nothing is followed and confirmations poll as usual, so a broker down costs a
recovery only the notifications' head start: the looks held for news when the connection is lost run at once,
instead of at the end of their fallback poll (``NovaNews.poll``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from kombu.connection import Connection
from kombu.entity import Exchange, Queue, binding

from vmha.contracts import NovaNotificationOptions
from vmha.nova_news import NovaNews

log = logging.getLogger(__name__)

MAX_QUEUED = 10_000
"""Events the broker keeps for this listener at most (the oldest dropped first)."""
MAX_PAUSE = 30.0
"""Longest pause before the listener connects again after a failure."""
HEARTBEAT_SECONDS = 30
"""AMQP heartbeat: a broker that stopped answering is noticed within about twice this."""
_DRAIN_SECONDS = 1.0


class Announcement(NamedTuple):
    """What an event of Nova's tells of one server."""

    server: str
    settled: bool
    """It tells the server may have settled."""
    host: str | None
    """The host it names the server on."""
    error: bool
    """It tells of an error: an ``.error`` event, or the server in ERROR."""


def instance_event(body: Any) -> tuple[str, dict[str, Any]] | None:
    """The event type and the server's data (``nova_object.data``) of an AMQP body of Nova's announcing an
    ``instance.*`` event; None for anything else (another event, another format, a malformed body)."""
    message = body.get("oslo.message", body) if isinstance(body, dict) else None
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    if not isinstance(message, dict):
        return None
    event_type, payload = message.get("event_type"), message.get("payload")
    data = payload.get("nova_object.data") if isinstance(payload, dict) else None
    if not isinstance(event_type, str) or not event_type.startswith("instance.") or not isinstance(data, dict):
        return None
    return (event_type, data) if isinstance(data.get("uuid"), str) else None


def announcement(body: Any) -> Announcement | None:
    """What an AMQP body of Nova's announces; None for anything else (see ``instance_event``)."""
    event = instance_event(body)
    if event is None:
        return None
    event_type, data = event
    failed = event_type.endswith(".error")
    ended = failed or event_type.endswith(".end")
    host = data.get("host")
    return Announcement(data["uuid"], ended or (event_type == "instance.update" and data.get("task_state") is None),
                        host if isinstance(host, str) else None, failed or data.get("state") == "error")


def _own_queue(options: NovaNotificationOptions, name: str) -> Queue:
    """A queue of one listener's own bound to Nova's exchange for both priorities: exclusive to its connection,
    deleted when it closes, at most ``MAX_QUEUED`` events (the oldest dropped)."""
    exchange = Exchange(options.exchange, type="topic", durable=False, no_declare=True)  # Nova's own
    return Queue(name, bindings=[binding(exchange, routing_key=f"{options.topic}.{priority}")
                                 for priority in ("info", "error")],
                 exclusive=True, auto_delete=True, durable=False, queue_arguments={"x-max-length": MAX_QUEUED})


def hear(options: NovaNotificationOptions, queue_name: str, heard: Callable[[Any], None],
         listening: Callable[[], None], stopping: threading.Event) -> None:
    """Hear Nova's notifications on the queue ``queue_name`` of one's own (``_own_queue``) until ``stopping`` is
    set: ``listening()`` once the queue is bound, ``heard(body)`` for each event. Raises what the broker or the
    client raise (the connection is made within ``options.timeout_seconds``)."""
    url = options.transport_url.replace("rabbit://", "amqp://", 1)
    with Connection(url, connect_timeout=options.timeout_seconds, heartbeat=HEARTBEAT_SECONDS) as connection:
        connection.ensure_connection(max_retries=1, timeout=options.timeout_seconds)
        with connection.Consumer([_own_queue(options, queue_name)], callbacks=[lambda body, _message: heard(body)],
                                 no_ack=True, accept=["json"]):
            listening()
            while not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    connection.drain_events(timeout=_DRAIN_SECONDS)
                connection.heartbeat_check()  # busy or idle: a stream of events sends no heartbeat


class NovaListener:
    """One daemon thread hearing Nova's versioned notifications (see the module docstring)."""

    def __init__(self, options: NovaNotificationOptions, news: NovaNews, wake: Callable[[str], int],
                 wake_all: Callable[[], int]) -> None:
        """``wake(server)``: run the looks held for ``server`` now; ``wake_all()``: run every look held for news
        now; both return how many there were."""
        self._options = options
        self._news = news
        self._wake = wake
        self._wake_all = wake_all
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="vmha-nova-listener", daemon=True)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.queue_name = f"vmha-nova-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    @property
    def counts(self) -> dict[str, int]:
        """Events heard, looks woken, and failures to reach the broker."""
        with self._lock:
            return dict(self._counts)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _listen(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            try:
                self._consume()
                pause = 1.0
            except Exception as error:  # any failure of the broker or the client: the thread must go on
                self._count("failures")
                log.warning("not hearing Nova's notifications; confirmations poll",
                            extra={"reason": str(error) or type(error).__name__, "retry_in_seconds": pause})
            finally:
                if self._news.connected(False):  # the news they wait for may be lost: the looks poll again
                    log.info("looks held for Nova's news run now", extra={"woken": self._wake_all()})
            self._stopping.wait(pause)
            pause = min(MAX_PAUSE, pause * 2)

    def _consume(self) -> None:
        hear(self._options, self.queue_name, self._heard, self._listening, self._stopping)

    def _listening(self) -> None:
        self._news.connected(True)
        log.info("hearing Nova's notifications", extra={"queue": self.queue_name})

    def _heard(self, body: Any) -> None:
        found = announcement(body)
        if found is None:
            return
        woken = self._wake(found.server) if self._news.heard(*found) else 0
        self._count("heard")
        self._count("woken", woken)

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount
