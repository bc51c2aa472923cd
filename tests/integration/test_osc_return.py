"""`openstack vmha host return` as operators run it: the real `openstack` command with only a clouds.yaml,
against a real gateway found in the Keystone catalog. The return itself, of a host a real gateway recovered,
is in test_return_to_service; here the gateway's refusals reach the operator as one line."""

from __future__ import annotations

from typing import Any

from .recovery_support import segment
from .test_api_masakari_client import free_host
from .test_osc_plugin import Osc, osc  # noqa: F401 (osc: the fixture of a registered gateway)


def test_host_return_says_why_the_gateway_refuses(osc: Osc, admin_conn: Any) -> None:  # noqa: F811
    host = free_host(admin_conn)
    with segment(admin_conn, (host,), {"vmha:recovery_method": "auto"}):
        in_service = osc.refused("host", "return", host)
    unknown = osc.refused("host", "return", "compute99")
    assert in_service.startswith(f"the gateway refused (409): {host} is not out of service by a vmha recovery")
    assert unknown == "the gateway refused (404): Nova has no nova-compute service on compute99"
