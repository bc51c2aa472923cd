"""Finding the guests to watch, and pinging their QEMU guest agents (two transports, one interface).

``discover`` lists running domains whose XML has a unix guest-agent channel (target ``channel_name``,
source in bind mode, path matching ``socket_path_pattern``) and, in ``metadata`` mode, that opted in with
``<heartbeat enabled="true"/>`` in the ``METADATA_NAMESPACE`` domain metadata. A guest is identified by
its uuid and libvirt domain id: the id changes when the domain restarts, so a restarted guest starts
afresh. ``LibvirtTransport`` pings through virDomainQemuAgentCommand (production: libvirt owns the
socket); ``SocketTransport`` talks the agent's JSON protocol on its unix socket directly (guest-sync once
per connection, then guest-ping). Any reply counts as an answer; silence until the timeout, a refused
connection or a broken stream is a miss.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import libvirt
import libvirt_qemu

METADATA_NAMESPACE = "https://opendev.org/vmha/monitor/1"
_PING = json.dumps({"execute": "guest-ping"})
_MAX_SKIPPED_LINES = 16
_sync_ids = itertools.count(1)


@dataclass(frozen=True)
class Guest:
    """A running domain with a guest agent channel."""

    uuid: str
    domain_id: int
    name: str
    socket_path: str

    @property
    def key(self) -> str:
        return f"{self.uuid}:{self.domain_id}"


def agent_socket(domain_xml: str, channel_name: str) -> str | None:
    """The socket path of the domain's guest agent channel, if it has one in bind mode."""
    for channel in ET.fromstring(domain_xml).iterfind("devices/channel[@type='unix']"):
        target, source = channel.find("target"), channel.find("source")
        if target is not None and source is not None and target.get("name") == channel_name \
                and source.get("mode") == "bind" and source.get("path"):
            return source.get("path")
    return None


def opted_in(metadata_xml: str | None) -> bool:
    """Whether the vmha domain metadata element enables the heartbeat."""
    if not metadata_xml:
        return False
    element = ET.fromstring(metadata_xml)
    return element.tag.rpartition("}")[2] == "heartbeat" and element.get("enabled", "").lower() == "true"


def discover(conn: Any, channel_name: str, socket_path_pattern: str, require_opt_in: bool) -> list[Guest]:
    """The running guests to watch (blocking libvirt calls: run it in a thread)."""
    pattern = re.compile(socket_path_pattern)
    guests = []
    for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        try:
            path = agent_socket(dom.XMLDesc(0), channel_name)
            if path is None or not pattern.fullmatch(path):
                continue
            if require_opt_in and not opted_in(_metadata(dom)):
                continue
            guests.append(Guest(dom.UUIDString(), dom.ID(), dom.name(), path))
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:  # gone while we looked: skip it
                raise
    return guests


def _metadata(dom: Any) -> str | None:
    try:
        text: str = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NAMESPACE)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return None
        raise
    return text


class AgentTransport(Protocol):
    """Pings one guest's agent; never raises for an unhealthy guest, returns False instead."""

    async def ping(self, guest: Guest, timeout: float) -> bool: ...

    def forget(self, guest: Guest) -> None: ...

    def close(self) -> None: ...


class SocketTransport:
    """The agent's unix socket, one persistent connection per guest, dropped after any miss."""

    def __init__(self) -> None:
        self._streams: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def ping(self, guest: Guest, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = self._streams.get(guest.key) or await self._open(guest)
                await _call(reader, writer, _PING, lambda reply: True)
        except (OSError, TimeoutError, ValueError, EOFError):
            self.forget(guest)
            return False
        return True

    async def _open(self, guest: Guest) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_unix_connection(guest.socket_path)
        self._streams[guest.key] = (reader, writer)
        sync_id = next(_sync_ids)
        # 0xFF makes the agent drop any half-written request of an earlier client (it answers with an error
        # line, skipped below); guest-sync then proves the next reply is ours.
        writer.write(b"\xff")
        sync = json.dumps({"execute": "guest-sync", "arguments": {"id": sync_id}})
        await _call(reader, writer, sync, lambda reply: reply.get("return") == sync_id)
        return reader, writer

    def forget(self, guest: Guest) -> None:
        stream = self._streams.pop(guest.key, None)
        if stream is not None:
            stream[1].close()

    def close(self) -> None:
        for _, writer in self._streams.values():
            writer.close()
        self._streams.clear()


async def _call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: str,
                wanted: Any) -> None:
    """Send one request and read lines until a JSON reply that ``wanted`` accepts."""
    writer.write(request.encode() + b"\n")
    await writer.drain()
    for _ in range(_MAX_SKIPPED_LINES):
        line = await reader.readline()
        if not line:
            raise EOFError("agent closed the connection")
        reply = json.loads(line)
        if isinstance(reply, dict) and wanted(reply):
            return
    raise ValueError("no matching reply from the agent")


class LibvirtTransport:
    """virDomainQemuAgentCommand on a read-write connection, in a bounded pool of threads."""

    def __init__(self, conn: Any, workers: int) -> None:
        self._conn = conn
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vmha-agent")

    async def ping(self, guest: Guest, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout + 1.0):  # libvirt's own timeout is whole seconds
                return await loop.run_in_executor(self._pool, self._ping, guest.uuid, timeout)
        except TimeoutError:
            return False

    def _ping(self, uuid: str, timeout: float) -> bool:
        try:
            dom = self._conn.lookupByUUIDString(uuid)
            libvirt_qemu.qemuAgentCommand(dom, _PING, max(1, math.ceil(timeout)), 0)
        except libvirt.libvirtError:
            return False
        return True

    def forget(self, guest: Guest) -> None:
        """Nothing is held per guest."""

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
