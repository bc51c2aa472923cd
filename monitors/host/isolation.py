"""Self-fencing of an isolated host: one that lost the coordination engine and every isolation address.

The others will soon report it and evacuate its servers. Like vSphere HA's isolation response and
Proxmox's watchdog, the host then stops the servers that would be evacuated, so that no server ever runs
twice, even where fencing through the BMC is not possible. ``nothing`` leaves them running (the BMC
fencing of the recovery flow is then the only guard). The servers to stop are the ones Nova placed on
this host that recovery would evacuate, remembered while Nova could be asked: an isolated host cannot ask.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterable
from typing import Any, Protocol

import libvirt

from vmha.contracts import opted_in

_LOG = logging.getLogger(__name__)


class IsolationResponse(Protocol):
    def isolated(self, instances: frozenset[str]) -> None:
        """This host is isolated; ``instances`` are the uuids of its servers that would be evacuated."""


class DoNothing:
    def isolated(self, instances: frozenset[str]) -> None:
        _LOG.warning("isolated: leaving the servers running (isolation_response nothing)",
                     extra={"instances": len(instances)})


class StopHaVms:
    """Destroys (hard power-off) the libvirt domains of the given servers: their copies may start elsewhere."""

    def __init__(self, libvirt_uri: str) -> None:
        self._uri = libvirt_uri

    def isolated(self, instances: frozenset[str]) -> None:
        conn = libvirt.open(self._uri)
        try:
            for uuid in sorted(instances):
                self._destroy(conn, uuid)
        finally:
            conn.close()

    def _destroy(self, conn: Any, uuid: str) -> None:
        try:
            domain = conn.lookupByUUIDString(uuid)
            if domain.isActive():
                domain.destroy()
                _LOG.warning("isolated: server stopped", extra={"instance": uuid})
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                _LOG.error("isolated: cannot stop a server", extra={"instance": uuid, "error": str(error)})


def any_reachable(addresses: Iterable[str], timeout: float) -> bool:
    """Whether a TCP connection to one of the ``host:port`` addresses opens within ``timeout``."""
    for address in addresses:
        host, _, port = address.rpartition(":")
        with contextlib.suppress(OSError, ValueError), socket.create_connection((host, int(port)), timeout):
            return True
    return False


def evacuable(servers: Iterable[Any], ha_key: str, evacuate_all: bool) -> frozenset[str]:
    """The ids of the servers recovery would evacuate (all, or those opted in with ``ha_key``)."""
    return frozenset(server.id for server in servers if evacuate_all or opted_in(server.metadata, ha_key))
