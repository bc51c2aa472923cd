"""The independent paths the leader asks about a host that left: Nova's service record and the host's BMC."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from keystoneauth1 import exceptions as keystone_errors
from openstack import exceptions as sdk_errors

from vmha.contracts import ContractError
from vmha.fencing import BmcAccess, BmcError, PowerDriver, PowerState, load_fencing_config, power_driver
from vmha.monitors.host.isolation import evacuable
from vmha.monitors.host.verdict import Evidence, NovaView

_LOG = logging.getLogger(__name__)


class Checks:
    """Asks Nova (an openstacksdk connection) and, when Nova alone does not settle it, the host's BMC."""

    def __init__(self, cloud: Any, fencing_file: str,
                 connect: Callable[[BmcAccess], PowerDriver] = power_driver,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._cloud = cloud
        self._fencing_file = fencing_file
        self._connect = connect
        self._clock = clock

    def evidence(self, host: str) -> Evidence:
        """Nova's view and the BMC's: a report says NORMAL only when the BMC says off."""
        return Evidence(self.nova(host), self.power(host))

    def nova(self, host: str) -> NovaView:
        """The host's nova-compute as Nova shows it now."""
        try:
            services = list(self._cloud.compute.services(host=host, binary="nova-compute"))
        except (sdk_errors.SDKException, keystone_errors.ClientException) as error:
            _LOG.warning("cannot ask Nova about a host", extra={"host": host, "error": str(error)})
            return NovaView(reachable=False)
        if not services:
            return NovaView(reachable=True, down=True)
        service = services[0]
        down = service.state == "down" or bool(service.is_forced_down)
        return NovaView(reachable=True, down=down, report_age_seconds=self._age(service.updated_at))

    def evacuable(self, host: str, ha_key: str, evacuate_all: bool) -> frozenset[str] | None:
        """The ids of the servers on ``host`` recovery would evacuate; None when Nova cannot be asked."""
        try:
            servers = list(self._cloud.compute.servers(details=True, all_projects=True, compute_host=host))
        except (sdk_errors.SDKException, keystone_errors.ClientException) as error:
            _LOG.warning("cannot list the host's servers", extra={"host": host, "error": str(error)})
            return None
        return evacuable(servers, ha_key, evacuate_all)

    def segment_metadata(self, segment: str) -> dict[str, str] | None:
        """The metadata of the aggregate ``segment`` ({} if there is none); None when Nova cannot be asked."""
        try:
            aggregates = list(self._cloud.compute.aggregates())
        except (sdk_errors.SDKException, keystone_errors.ClientException) as error:
            _LOG.warning("cannot read the segment", extra={"segment": segment, "error": str(error)})
            return None
        found = [aggregate for aggregate in aggregates if aggregate.name == segment]
        return dict(found[0].metadata or {}) if found else {}

    def power(self, host: str) -> PowerState | None:
        """The host's power state as its BMC reports it; None without a BMC or an answer."""
        access = self._access(host)
        if access is None:
            return None
        try:
            return self._connect(access).power_state()
        except BmcError as error:
            _LOG.warning("cannot read a host's power state", extra={"host": host, "error": str(error)})
            return None

    def _access(self, host: str) -> BmcAccess | None:
        if not self._fencing_file:
            return None
        try:
            return load_fencing_config(self._fencing_file).get(host)
        except (ContractError, OSError) as error:
            _LOG.warning("cannot read the fencing file", extra={"file": self._fencing_file, "error": str(error)})
            return None

    def _age(self, updated_at: str | None) -> float | None:
        if not updated_at:
            return None
        moment = datetime.fromisoformat(updated_at)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return (self._clock() - moment).total_seconds()
