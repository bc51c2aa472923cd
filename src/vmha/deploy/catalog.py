"""The gateway in Keystone's catalog: the ``instance-ha`` service and its endpoints in one region.

``register`` is idempotent: it creates what is missing (the region, the service, an endpoint per
interface), points an endpoint whose URL differs at the new one, and leaves the rest alone; each thing it
looked at comes back as a ``Registered`` row saying what it did. A service of the same type under another
name (Masakari's, beside which vmha may run in a region of its own) is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import openstack

from vmha.deploy.errors import DeployError

SERVICE_TYPE = "instance-ha"
"""Masakari's service type: python-masakariclient, masakari-monitors and ``openstack vmha`` look it up."""

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class Registered:
    """One catalog entry ``register`` looked at: ``what`` (region, service, or an interface's endpoint), its
    id, its URL for an endpoint, and ``done``: created, updated or unchanged."""

    what: str
    id: str
    url: str
    done: str


def register(conn: Any, name: str, region: str, urls: Mapping[str, str]) -> list[Registered]:
    """Register service ``name`` (type instance-ha) with one endpoint per ``urls`` interface (public, internal,
    admin) in ``region``; DeployError with Keystone's reason when it refuses (e.g. not an admin)."""
    try:
        region_row = _region(conn, region)
        service = _service(conn, name)
        return [region_row, service,
                *(_endpoint(conn, service.id, region, interface, url) for interface, url in urls.items())]
    except openstack.exceptions.SDKException as error:
        raise DeployError(f"Keystone refused the registration: {error}") from error


def _region(conn: Any, region: str) -> Registered:
    if conn.identity.find_region(region) is not None:
        return Registered("region", region, "", UNCHANGED)
    conn.identity.create_region(id=region, description="vmha gateway")
    return Registered("region", region, "", CREATED)


def _service(conn: Any, name: str) -> Registered:
    for service in conn.identity.services(type=SERVICE_TYPE):
        if service.name == name:
            return Registered("service", service.id, "", UNCHANGED)
    created = conn.identity.create_service(name=name, type=SERVICE_TYPE, description="vmha gateway",
                                           is_enabled=True)
    return Registered("service", created.id, "", CREATED)


def _endpoint(conn: Any, service_id: str, region: str, interface: str, url: str) -> Registered:
    what = f"{interface} endpoint"
    existing = [endpoint for endpoint in conn.identity.endpoints(service_id=service_id, interface=interface)
                if endpoint.region_id == region]
    if not existing:
        created = conn.identity.create_endpoint(service_id=service_id, interface=interface, region_id=region,
                                                url=url, is_enabled=True)
        return Registered(what, created.id, url, CREATED)
    kept, *duplicates = existing
    for duplicate in duplicates:
        conn.identity.delete_endpoint(duplicate)
    if kept.url == url and not duplicates:
        return Registered(what, kept.id, url, UNCHANGED)
    conn.identity.update_endpoint(kept, url=url)
    return Registered(what, kept.id, url, UPDATED)
