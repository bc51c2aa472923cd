"""Which guests opted in through Nova: the HA metadata key of the servers on this compute host.

Masakari's way to put an instance under guest-agent watch is an image with ``hw_qemu_guest_agent=yes`` (Nova
then gives the domain the agent channel ``discover`` looks for) and ``HA_Enabled=True`` server metadata
(checked before any recovery). In the introspective monitor's ``nova`` opt-in mode only such guests are
pinged: one ``GET /servers/detail?host=<host>&all_tenants=1`` lists the host's servers with their metadata
(Nova's host filter needs admin credentials). The answer is reused for ``REFRESH_SECONDS`` and asked again at
once when a guest appears that it did not list. When Nova cannot be asked, an unlisted guest counts as opted
in: watching one guest too many costs a ping, watching one too few misses a failure (the gateway checks the
key again before it recovers anything).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

from vmha.contracts import opted_in
from vmha.monitors.cloud import CloudConfigError

if TYPE_CHECKING:
    from keystoneauth1.session import Session

_LOG = logging.getLogger(__name__)
REFRESH_SECONDS = 60.0


class NovaOptIn:
    """``select(uuids)``: the uuids whose Nova server on ``hostname`` has metadata ``key`` set to a true value."""

    def __init__(self, session: Callable[[], Session], hostname: str, key: str, *, interface: str = "public",
                 region_name: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session
        self._query = {"host": hostname, "all_tenants": 1}
        self._endpoint = {"service_type": "compute", "interface": interface, "region_name": region_name}
        self._key = key
        self._clock = clock
        self._enabled: dict[str, bool] = {}
        self._asked_at: float | None = None

    def select(self, uuids: Collection[str]) -> set[str]:
        stale = self._asked_at is None or self._clock() - self._asked_at >= REFRESH_SECONDS
        if stale or any(uuid not in self._enabled for uuid in uuids):
            self._refresh(uuids)
        return {uuid for uuid in uuids if self._enabled.get(uuid, True)}

    def _refresh(self, uuids: Collection[str]) -> None:
        try:
            servers = list(self._servers())
        except _NovaUnavailableError as error:
            _LOG.warning("cannot read the servers' metadata from Nova; watching every unlisted guest",
                         extra={"error": str(error)})
            return
        self._enabled = {server["id"]: opted_in(server.get("metadata"), self._key)
                         for server in servers}
        self._enabled.update({uuid: False for uuid in uuids if uuid not in self._enabled})  # not a Nova server here
        self._asked_at = self._clock()

    def _servers(self) -> Iterator[dict[str, Any]]:
        """Every server on the host, page after page."""
        from keystoneauth1 import exceptions  # noqa: PLC0415  (imported with the session, see cloud.LazySession)

        url: str | None = "/servers/detail"
        params: dict[str, Any] | None = self._query
        while url is not None:
            try:
                response = self._session().get(url, params=params, endpoint_filter=self._endpoint, raise_exc=False)
            except (exceptions.ClientException, OSError, CloudConfigError) as error:
                raise _NovaUnavailableError(f"{type(error).__name__}: {error}") from error
            if response.status_code != 200:
                raise _NovaUnavailableError(f"Nova answered {response.status_code}: {response.text[:300]}")
            page = response.json()
            yield from page.get("servers", [])
            url = next((link["href"] for link in page.get("servers_links", []) if link.get("rel") == "next"), None)
            params = None  # the next link carries the query


class _NovaUnavailableError(Exception):
    """Nova could not be asked (down, slow, refusing the credentials)."""
