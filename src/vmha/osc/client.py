"""What the commands work with: the gateway's HTTP API, found in the Keystone catalog as service type
``instance-ha`` in the OSC session's region and interface (``--os-region-name``, ``--os-interface``).

Masakari's calls (segments, hosts, notifications, vmoves) go through openstacksdk's ``instance_ha`` proxy at
microversion 1.3; vmha's own routes (functions, executions) through the session with an endpoint filter. A
client: no settings file, no journal, no queue, no step runs here. Every failure is one line
(``CommandError``): no endpoint in the catalog, the gateway unreachable, or its refusal with its reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import openstack
from keystoneauth1 import exceptions as keystone_errors
from osc_lib import exceptions

SERVICE_TYPE = "instance-ha"
MICROVERSION = "1.3"
TIMEOUT_SECONDS = 120.0


class VmhaClient:
    """The gateway's API over the OSC session's openstacksdk connection ``cloud``."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self._found = False

    @property
    def ha(self) -> Any:
        """openstacksdk's ``instance_ha`` proxy at microversion 1.3; CommandError without an endpoint."""
        self._endpoint()
        proxy = self.cloud.instance_ha
        proxy.default_microversion = MICROVERSION
        return proxy

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """``method`` on the gateway's ``path`` (below its ``/v1`` endpoint), the answer's JSON (None if empty)."""
        filters = self._filters()
        self._endpoint()
        with calling():
            answer = self.cloud.session.request(path, method, endpoint_filter=filters, json=body,
                                                headers={"OpenStack-API-Version": f"{SERVICE_TYPE} {MICROVERSION}"},
                                                timeout=TIMEOUT_SECONDS, raise_exc=False)
        if answer.status_code >= 400:
            raise exceptions.CommandError(f"the gateway refused ({answer.status_code}): {_reason(answer)}")
        return answer.json() if answer.content else None

    def _filters(self) -> dict[str, Any]:
        config = self.cloud.config
        return {"service_type": SERVICE_TYPE, "interface": config.get_interface() or "public",
                "region_name": config.get_region_name()}

    def _endpoint(self) -> None:
        """CommandError naming the region and interface when the catalog has no instance-ha endpoint there."""
        if self._found:
            return
        filters = self._filters()
        with calling():
            try:
                url = self.cloud.session.get_endpoint(**filters)
            except keystone_errors.EndpointNotFound:
                url = None
        if not url:
            raise exceptions.CommandError(
                f"no {SERVICE_TYPE} endpoint in the Keystone catalog for region {filters['region_name'] or '(any)'}, "
                f"interface {filters['interface']}: register the vmha gateway (README, The openstack vmha "
                "commands) or choose its region with --os-region-name")
        self._found = True


@contextlib.contextmanager
def calling() -> Iterator[None]:
    """Turn openstacksdk's and keystoneauth's errors into one-line CommandErrors."""
    try:
        yield
    except openstack.exceptions.HttpException as error:
        reason = error.details or error.message or str(error)
        raise exceptions.CommandError(f"the gateway refused ({error.status_code}): {reason}") from error
    except (openstack.exceptions.SDKException, keystone_errors.ClientException) as error:
        raise exceptions.CommandError(f"cannot reach the gateway: {error}") from error


def _reason(answer: Any) -> str:
    """The message of an error answer in any of the gateway's shapes (Masakari's, Lambda's, plain)."""
    try:
        document = answer.json()
    except ValueError:
        return str(answer.text.strip() or answer.reason)
    if isinstance(document, dict):
        inner = document.get("error") or next(iter(document.values()), None)
        if isinstance(inner, dict) and "message" in inner:
            return str(inner["message"])
        if "message" in document:
            return str(document["message"])
    return str(document)


def vmha(command: Any) -> VmhaClient:
    """The client of a running command."""
    client: VmhaClient = command.app.client_manager.vmha
    return client
