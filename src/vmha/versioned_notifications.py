"""Masakari's versioned notifications, sent through oslo.messaging for Ceilometer and Masakari's consumers.

As Masakari sends them (masakari.notifications.objects, masakari.rpc): oslo.messaging's Notifier with the
``messagingv2`` driver on the ``masakari`` exchange, topic ``versioned_notifications`` (``notifications.topic``),
publisher ``masakari-api:<host>`` or ``masakari-engine:<host>``, priority INFO (ERROR with a fault). Event types
and payloads, each a versioned object (``masakari_object.name/namespace/version/data``):

- ``segment.{create,update,delete}.{start,end,error}``: ``SegmentApiPayload`` 1.1;
- ``host.{create,update,delete}.{start,end,error}``: ``HostApiPayload`` 1.0 (its segment embedded);
- ``notification.create.{start,end,error}`` (API) and ``notification.process.{start,end,error}`` (a recovery
  began, ended finished or ignored, ended failed): ``NotificationApiPayload`` 1.0.

An error's payload carries a ``fault`` (``ExceptionPayload``). Ids are those vmha's Masakari API shows (uuids).

Off while ``notifications.transport_url`` is empty. Sending never blocks nor fails its caller: ``emit`` puts the
event in a bounded queue that one daemon thread drains through the Notifier (one attempt per event, no retry);
an event that waited longer than ``notifications.timeout_seconds`` (the broker down or slow) or found the queue
full is dropped, logged and counted (``counts``), so a broker down costs a recovery nothing. oslo.messaging's
Notifier logs a send it could not make (with the whole payload) and returns: ``_SendFailures`` takes that record
from the sender thread, so the event is counted ``failed`` and logged once, by vmha, with the broker's reason.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

import oslo_messaging
from oslo_config import cfg

from vmha.cloud.segments import host_uuid
from vmha.contracts import NotificationOptions
from vmha.journal import NotificationRecord

log = logging.getLogger(__name__)

API, ENGINE = "masakari-api", "masakari-engine"
"""The publishers (binaries) Masakari names: its API and its engine (vmha's consumers)."""
EXCHANGE = "masakari"
QUEUE_SIZE = 1000
_SEGMENT_FIELDS = ("id", "uuid", "name", "service_type", "description", "recovery_method", "enabled")
_HOST_FIELDS = ("id", "uuid", "name", "type", "reserved", "control_attributes", "on_maintenance")


class Phase(StrEnum):
    START = "start"
    END = "end"
    ERROR = "error"


@dataclass(frozen=True)
class Event:
    """One notification waiting to be sent."""

    publisher: str
    event_type: str
    payload: dict[str, Any]
    error: bool
    queued_at: float


def versioned(name: str, version: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A versioned object's primitive, as Masakari's serializer writes it."""
    return {"masakari_object.name": name, "masakari_object.namespace": "masakari",
            "masakari_object.version": version, "masakari_object.data": dict(data)}


def fault(message: str, where: str) -> dict[str, Any]:
    """An ``ExceptionPayload``: what failed (vmha has a reason, no Python exception, to report)."""
    return versioned("ExceptionPayload", "1.0", {
        "module_name": where.rpartition(".")[0], "function_name": where.rpartition(".")[2],
        "exception": "VmhaFailure", "exception_message": message, "traceback": ""})


def segment_payload(view: Mapping[str, Any], failure: dict[str, Any] | None = None) -> dict[str, Any]:
    """``SegmentApiPayload`` of a segment as vmha's Masakari API shows it."""
    return versioned("SegmentApiPayload", "1.1",
                     {**{key: view.get(key) for key in _SEGMENT_FIELDS}, "fault": failure})


def host_payload(view: Mapping[str, Any], failure: dict[str, Any] | None = None) -> dict[str, Any]:
    """``HostApiPayload`` of a host as vmha's Masakari API shows it (its ``failover_segment`` embedded)."""
    segment = view.get("failover_segment") or {}
    embedded = versioned("FailoverSegment", "1.0", {key: segment.get(key) for key in _SEGMENT_FIELDS})
    return versioned("HostApiPayload", "1.0", {**{key: view.get(key) for key in _HOST_FIELDS},
                                               "failover_segment": embedded, "fault": failure})


def notification_payload(record: NotificationRecord, failure: dict[str, Any] | None = None) -> dict[str, Any]:
    """``NotificationApiPayload`` of a journaled notification."""
    return versioned("NotificationApiPayload", "1.0", {
        "id": record.id, "notification_uuid": record.id, "type": record.type, "payload": dict(record.payload),
        "generated_time": record.generated_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_host_uuid": host_uuid(record.hostname), "status": record.status.value, "fault": failure})


class _SendFailures(logging.Filter):
    """Catches oslo.messaging's records of a failed send made on one thread (the sender's)."""

    LOGGERS = ("oslo_messaging.notify.messaging", "oslo_messaging.notify.notifier")

    def __init__(self) -> None:
        super().__init__()
        self.thread: int | None = None
        self.failure: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread or record.levelno < logging.ERROR:
            return True
        error = record.exc_info[1] if record.exc_info else None
        self.failure = str(error) if error is not None else record.getMessage()[:200]
        return False


class VersionedNotifier:
    """Sends versioned notifications in the background; does nothing while off (see the module docstring)."""

    def __init__(self, options: NotificationOptions, host: str | None = None) -> None:
        self._options = options
        self._host = host or socket.gethostname()
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._thread: threading.Thread | None = None
        self._transport: Any = None
        if options.transport_url:
            conf = cfg.ConfigOpts()  # a private configuration: never oslo.config's global CONF
            conf([], project="vmha", default_config_files=[], default_config_dirs=[])
            oslo_messaging.set_transport_defaults(EXCHANGE)
            self._transport = oslo_messaging.get_notification_transport(conf, url=options.transport_url)
            self._notifier = oslo_messaging.Notifier(self._transport, driver="messagingv2", topics=[options.topic],
                                                     retry=0)
            self._failures = _SendFailures()
            for name in _SendFailures.LOGGERS:
                logging.getLogger(name).addFilter(self._failures)
            self._thread = threading.Thread(target=self._send_all, name="vmha-notifier", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self._thread is not None

    @property
    def counts(self) -> dict[str, int]:
        """How many events were sent, dropped (waited too long, queue full) or failed (the broker refused)."""
        with self._lock:
            return dict(self._counts)

    def emit(self, publisher: str, event_type: str, payload: dict[str, Any], *, error: bool = False) -> None:
        """Queue one event; never blocks, never raises."""
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(Event(publisher, event_type, payload, error, time.monotonic()))
        except queue.Full:
            self._count("dropped", event_type, "the queue of events to send is full")

    def segment(self, action: str, phase: Phase, view: Mapping[str, Any], reason: str | None = None) -> None:
        failure = None if reason is None else fault(reason, "vmha.api.segments." + action)
        self.emit(API, f"segment.{action}.{phase}", segment_payload(view, failure), error=failure is not None)

    def host(self, action: str, phase: Phase, view: Mapping[str, Any], reason: str | None = None) -> None:
        failure = None if reason is None else fault(reason, "vmha.api.hosts." + action)
        self.emit(API, f"host.{action}.{phase}", host_payload(view, failure), error=failure is not None)

    def notification(self, action: str, phase: Phase, record: NotificationRecord, reason: str | None = None) -> None:
        """``notification.create.*`` (the API) or ``notification.process.*`` (a recovery; the engine's)."""
        publisher = API if action == "create" else ENGINE
        failure = None if reason is None else fault(reason, f"vmha.notification.{action}")
        self.emit(publisher, f"notification.{action}.{phase}", notification_payload(record, failure),
                  error=failure is not None)

    def close(self, timeout: float) -> None:
        """Send what is queued for up to ``timeout`` s, then stop."""
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("versioned notifications left unsent at stop", extra={"left": self._queue.qsize()})
        self._thread.join(timeout)
        for name in _SendFailures.LOGGERS:
            logging.getLogger(name).removeFilter(self._failures)
        self._transport.cleanup()

    def _send_all(self) -> None:
        self._failures.thread = threading.get_ident()
        while (event := self._queue.get()) is not None:
            waited = time.monotonic() - event.queued_at
            if waited > self._options.timeout_seconds:
                self._count("dropped", event.event_type, f"it waited {waited:.1f} s for the broker")
                continue
            self._failures.failure = None
            try:
                notifier = self._notifier.prepare(publisher_id=f"{event.publisher}:{self._host}")
                (notifier.error if event.error else notifier.info)({}, event.event_type, event.payload)
            except Exception as error:  # e.g. a payload the serializer refuses: the event is lost, nobody waited
                self._failures.failure = str(error)
            if self._failures.failure is None:
                self._count("sent", event.event_type, None)
            else:
                self._count("failed", event.event_type, self._failures.failure)

    def _count(self, outcome: str, event_type: str, reason: str | None) -> None:
        with self._lock:
            self._counts[outcome] += 1
        if reason is not None:
            log.warning("versioned notification not sent", extra={"event_type": event_type, "outcome": outcome,
                                                                   "reason": reason})


OFF = VersionedNotifier(NotificationOptions("", "versioned_notifications", 10.0))
"""A notifier that sends nothing (no transport URL)."""
