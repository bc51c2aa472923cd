"""Put a host monitor together from the settings and the monitors' sink."""

from __future__ import annotations

from typing import Any

import openstack

from vmha.contracts import ContractError, Settings
from vmha.monitors.host.checks import Checks
from vmha.monitors.host.coordination import SegmentGroup, group_url
from vmha.monitors.host.isolation import DoNothing, IsolationResponse, StopHaVms
from vmha.monitors.host.lease import SelfFence, watchdog
from vmha.monitors.host.monitor import HostMonitor, Outbox
from vmha.self_fence import group_name


def build_host_monitor(settings: Settings, outbox: Outbox, session: Any, hostname: str) -> HostMonitor:
    """The host monitor of ``hostname`` in ``monitor.host.segment``, asking Nova over ``session``."""
    options = settings.monitor.host
    if not options.segment:
        raise ContractError("the host monitor needs its segment", "monitor/host/segment")
    if not settings.coordination_url:
        raise ContractError("the host monitor needs coordination_url (etcd3+http:// or redis://)", "coordination_url")
    url = group_url(settings.coordination_url, options.interval_seconds, options.misses)
    group = SegmentGroup(url, group_name(options.segment), hostname)
    checks = Checks(openstack.connection.Connection(session=session), settings.fencing_file)
    response: IsolationResponse = DoNothing()
    if options.isolation_response == "stop_ha_vms":
        response = StopHaVms(settings.monitor.libvirt_uri)
    key, evacuate_all = settings.ha_enabled_metadata_key, settings.host_failure.evacuate_all_instances
    lease = SelfFence(lambda: checks.segment_metadata(options.segment), StopHaVms(settings.monitor.libvirt_uri),
                      forced=options.self_fence == "on", cap_seconds=options.self_fence_seconds,
                      watchdog=watchdog(options.watchdog_device))
    return HostMonitor(hostname, group=group, probe=checks, outbox=outbox, options=options, response=response,
                       evacuable=lambda: checks.evacuable(hostname, key, evacuate_all), lease=lease)
