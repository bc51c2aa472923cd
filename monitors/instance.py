"""Instance monitor: libvirt domain events on one connection, filtered by ``events.EVENT_FILTER``.

libvirt's default event loop runs in one daemon thread; the callbacks only classify, report (a spool
write) and note the domain's new state, so a burst of events never piles up threads. The known states are
kept in ``domains.json`` under the state directory: after a reconnect (libvirtd restarted) or a monitor
restart, ``events.missed_events`` turns what changed meanwhile into the notifications the gap hid. The
libvirt domain UUID is the Nova instance UUID (Nova creates the domain with the instance's uuid).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import libvirt

from vmha.contracts import InstanceMonitorOptions, VmPayload
from vmha.monitors.events import DomainEvent, DomainState, classify, missed_events
from vmha.monitors.sink import Reporter
from vmha.monitors.state import read_state, write_state

_LOG = logging.getLogger(__name__)
_HEARTBEAT_SECONDS = 1.0


@cache
def start_event_loop() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once per process)."""
    libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, name="vmha-libvirt-events", daemon=True).start()


class InstanceMonitor:
    """Reports domain events of ``uri`` through ``reporter``; ``run`` reconnects until stopped."""

    def __init__(self, uri: str, reporter: Reporter, state_file: Path, options: InstanceMonitorOptions) -> None:
        self.uri = uri
        self.reporter = reporter
        self.options = options
        self._state_file = state_file
        self._known = _load_states(state_file)
        self._lock = threading.Lock()
        self._lost = threading.Event()

    stale_after = 30.0
    """Longest healthy gap between two beats (it beats every second while connected)."""

    def once(self) -> None:
        """One detection pass: report what changed since the last known states, without listening."""
        conn = libvirt.openReadOnly(self.uri)
        try:
            self._catch_up(conn)
        finally:
            conn.close()

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        """Listen, reconnecting after a lost connection, until ``stop`` is set; ``beat`` about every second."""
        start_event_loop()
        while not stop.is_set():
            try:
                conn = libvirt.openReadOnly(self.uri)
            except libvirt.libvirtError as error:
                _LOG.warning("libvirt connection failed", extra={"uri": self.uri, "error": str(error)})
                beat()  # trying to reconnect is this monitor's job, not a sign that it hangs
                stop.wait(self.options.reconnect_seconds)
                continue
            self._listen(conn, stop, beat)
            if not stop.is_set():
                _LOG.warning("libvirt connection lost, reconnecting", extra={"uri": self.uri})
                stop.wait(self.options.reconnect_seconds)

    def _listen(self, conn: Any, stop: threading.Event, beat: Callable[[], None]) -> None:
        self._lost.clear()
        _prepare(conn, self.options, self._on_close)
        callbacks = self._register(conn)
        try:
            self._catch_up(conn)
            _LOG.info("listening to libvirt events", extra={"uri": self.uri})
            while not stop.is_set() and not self._lost.is_set() and conn.isAlive():
                beat()
                stop.wait(_HEARTBEAT_SECONDS)
        finally:
            _close(conn, callbacks)

    def _register(self, conn: Any) -> list[int]:
        handlers: dict[int, Callable[..., None]] = {
            libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE: lambda _c, dom, code, detail, _o: self._on_event(
                dom, DomainEvent(libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, code, detail)),
            libvirt.VIR_DOMAIN_EVENT_ID_REBOOT: lambda _c, dom, _o: self._on_event(
                dom, DomainEvent(libvirt.VIR_DOMAIN_EVENT_ID_REBOOT)),
            libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG: lambda _c, dom, action, _o: self._on_event(
                dom, DomainEvent(libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG, action)),
            libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR: lambda _c, dom, _path, _alias, action, _o: self._on_event(
                dom, DomainEvent(libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR, action)),
            libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON: lambda _c, dom, _path, _alias, action, _r, _o: (
                self._on_event(dom, DomainEvent(libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, action))),
            libvirt.VIR_DOMAIN_EVENT_ID_CONTROL_ERROR: lambda _c, dom, _o: self._on_event(
                dom, DomainEvent(libvirt.VIR_DOMAIN_EVENT_ID_CONTROL_ERROR)),
        }
        return [conn.domainEventRegisterAny(None, event_id, handler, None) for event_id, handler in handlers.items()]

    def _on_event(self, dom: Any, event: DomainEvent) -> None:
        uuid = dom.UUIDString()
        self._report(uuid, event)
        try:
            state = DomainState(*dom.state())
        except libvirt.libvirtError:  # undefined meanwhile
            state = None
        with self._lock:
            if state is None:
                self._known.pop(uuid, None)
            else:
                self._known[uuid] = state
            _save_states(self._state_file, self._known)

    def _report(self, uuid: str, event: DomainEvent) -> None:
        mapped = classify(event)
        _LOG.debug("domain event", extra={"instance_uuid": uuid, "event": event.__dict__, "reported": bool(mapped)})
        if mapped is not None:
            vm_event, vir_domain_event = mapped
            self.reporter.report(VmPayload(vm_event, vir_domain_event, UUID(uuid)))

    def _catch_up(self, conn: Any) -> None:
        now = {dom.UUIDString(): DomainState(*dom.state()) for dom in conn.listAllDomains()}
        with self._lock:
            missed = missed_events(self._known, now)
            self._known = now
            _save_states(self._state_file, now)
        for uuid, event in missed.items():
            _LOG.warning("domain changed while not listening", extra={"instance_uuid": uuid})
            self._report(uuid, event)

    def _on_close(self, _conn: Any, reason: int, _opaque: Any) -> None:
        _LOG.warning("libvirt closed the connection", extra={"uri": self.uri, "reason": reason})
        self._lost.set()


def _prepare(conn: Any, options: InstanceMonitorOptions, on_close: Callable[..., None]) -> None:
    """Keepalive and close callback, where the driver has them (remote connections; not the test driver)."""
    try:
        conn.setKeepAlive(options.keepalive_interval_seconds, options.keepalive_count)
        conn.registerCloseCallback(on_close, None)
    except libvirt.libvirtError as error:
        _LOG.debug("no keepalive or close callback on this connection", extra={"error": str(error)})


def _close(conn: Any, callbacks: list[int]) -> None:
    with contextlib.suppress(libvirt.libvirtError):  # the connection may be gone already
        for callback in callbacks:
            conn.domainEventDeregisterAny(callback)
    with contextlib.suppress(libvirt.libvirtError):
        conn.unregisterCloseCallback()
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()


def _load_states(path: Path) -> dict[str, DomainState]:
    raw = read_state(path) or {}
    return {uuid: DomainState(*pair) for uuid, pair in raw.items()}


def _save_states(path: Path, states: dict[str, DomainState]) -> None:
    write_state(path, {uuid: [state.state, state.reason] for uuid, state in states.items()})
