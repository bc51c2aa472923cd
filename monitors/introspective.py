"""Introspective monitor: the guest agent heartbeat of every watched guest, on one asyncio loop.

Each round discovers the guests (libvirt, in a thread), pings them all at once (at most
``max_concurrency`` in flight, each with its own timeout, so one slow guest delays nobody), feeds the
results to ``heartbeat.observe`` and reports QEMU_GUEST_AGENT_ERROR / STOPPED_FAILED for a guest whose
agent stopped answering. The heartbeat states are kept in ``heartbeats.json`` so a monitor restart keeps
a guest's healthy history (``--once`` runs one round on top of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any
from uuid import UUID

import libvirt

from vmha.contracts import IntrospectiveMonitorOptions, VirDomainEvent, VmEvent, VmPayload
from vmha.monitors.agents import AgentTransport, Guest, LibvirtTransport, SocketTransport, discover
from vmha.monitors.heartbeat import Heartbeat, Phase, Verdict, observe
from vmha.monitors.sink import Reporter
from vmha.monitors.state import read_state, write_state

_LOG = logging.getLogger(__name__)


class IntrospectiveMonitor:
    """Watches the guest agents of the domains on ``uri``; ``select``, if given, keeps the uuids to watch among
    the discovered ones (``nova.NovaOptIn``; it may block: it runs in the discovery thread)."""

    def __init__(self, uri: str, reporter: Reporter, state_file: Path, options: IntrospectiveMonitorOptions,
                 select: Callable[[Collection[str]], set[str]] | None = None) -> None:
        self.uri = uri
        self._select = select
        self.reporter = reporter
        self.options = options
        self._state_file = state_file
        self._states = _load_states(state_file)
        self._conn: Any = None
        self._transport: AgentTransport | None = None
        self._known_guests: dict[str, Guest] = {}

    @property
    def stale_after(self) -> float:
        """Longest healthy gap between two beats."""
        return 3 * (self.options.interval_seconds + self.options.timeout_seconds) + 30

    def once(self) -> None:
        """One round of pings."""
        asyncio.run(self._rounds(threading.Event(), lambda: None, rounds=1))

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        """Ping every ``interval_seconds`` until ``stop`` is set; ``beat`` after each round."""
        asyncio.run(self._rounds(stop, beat, rounds=None))

    async def _rounds(self, stop: threading.Event, beat: Callable[[], None], rounds: int | None) -> None:
        loop = asyncio.get_running_loop()
        done = 0
        try:
            while not stop.is_set() and (rounds is None or done < rounds):
                started = loop.time()
                await self.round()
                beat()
                done += 1
                if rounds is None or done < rounds:
                    pause = max(0.0, started + self.options.interval_seconds - loop.time())
                    await asyncio.to_thread(stop.wait, pause)
        finally:
            self._disconnect()

    async def round(self) -> None:
        """Discover, ping all, update the states, report."""
        guests = await asyncio.to_thread(self._discover)
        if guests is None:
            return
        transport = self._transport
        assert transport is not None
        limit = asyncio.Semaphore(self.options.max_concurrency)

        async def ping(guest: Guest) -> bool:
            async with limit:
                return await transport.ping(guest, self.options.timeout_seconds)

        answers = await asyncio.gather(*(ping(guest) for guest in guests))
        current = {guest.key: guest for guest in guests}
        for key, guest in self._known_guests.items():
            if key not in current:
                transport.forget(guest)
        self._known_guests = current
        await self._update(dict(zip(guests, answers, strict=True)))

    async def _update(self, answers: dict[Guest, bool]) -> None:
        states = {}
        for guest, answered in answers.items():
            state, verdict = observe(self._states.get(guest.key, Heartbeat()), answered, self.options.misses)
            states[guest.key] = state
            if verdict is Verdict.REPORT:
                payload = VmPayload(VmEvent.QEMU_GUEST_AGENT_ERROR, VirDomainEvent.STOPPED_FAILED, UUID(guest.uuid))
                await asyncio.to_thread(self.reporter.report, payload)
            elif verdict is Verdict.RECOVERED:
                _LOG.info("guest agent answers again", extra={"instance_uuid": guest.uuid, "domain": guest.name})
        self._states = states
        await asyncio.to_thread(_save_states, self._state_file, states)

    def _discover(self) -> list[Guest] | None:
        """The guests, or None (and a fresh connection next round) when libvirt fails."""
        options = self.options
        try:
            if self._conn is None:
                self._connect()
            guests = discover(self._conn, options.channel_name, options.socket_path_pattern,
                              options.opt_in == "metadata")
        except libvirt.libvirtError as error:
            _LOG.warning("guest discovery failed", extra={"uri": self.uri, "error": str(error)})
            self._disconnect()
            return None
        if self._select is None:
            return guests
        chosen = self._select({guest.uuid for guest in guests})
        return [guest for guest in guests if guest.uuid in chosen]

    def _connect(self) -> None:
        if self.options.transport == "libvirt":
            self._conn = libvirt.open(self.uri)  # agent commands need a read-write connection
            self._transport = LibvirtTransport(self._conn, self.options.max_concurrency)
        else:
            self._conn = libvirt.openReadOnly(self.uri)
            self._transport = SocketTransport()

    def _disconnect(self) -> None:
        if self._transport is not None:
            self._transport.close()
        if self._conn is not None:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.close()
        self._conn, self._transport, self._known_guests = None, None, {}


def _load_states(path: Path) -> dict[str, Heartbeat]:
    raw = read_state(path) or {}
    return {key: Heartbeat(Phase(phase), misses) for key, (phase, misses) in raw.items()}


def _save_states(path: Path, states: dict[str, Heartbeat]) -> None:
    write_state(path, {key: [state.phase.value, state.misses] for key, state in states.items()})
