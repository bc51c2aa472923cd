"""``vmha register-endpoint``: register the gateway in Keystone's catalog, once per region.

Creates what is missing of: the region, the service (type ``instance-ha``, Masakari's, so
python-masakariclient, masakari-monitors and ``openstack vmha`` find the gateway) and its public and internal
endpoints (the gateway's base URL followed by /v1); an endpoint whose URL changed is updated. A second run
changes nothing. Needs Keystone's admin role. A separate command rather than part of ``vmha deploy``: the
catalog entry belongs to the gateway, one per region, and must outlive (and precede) any Heat stack.
"""

from __future__ import annotations

import argparse
import os
from urllib.parse import urlsplit

from vmha.commands.deploy import connect
from vmha.console import table
from vmha.deploy import DeployError
from vmha.deploy.catalog import register


def _versioned(url: str, option: str) -> str:
    """``url``/v1, or DeployError if ``url`` is not an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DeployError(f"{option} must be the gateway's http(s) base URL, not {url!r}")
    return url.rstrip("/") + "/v1"


def _run(args: argparse.Namespace) -> int:
    public = _versioned(args.public_url, "--public-url")
    internal = _versioned(args.internal_url, "--internal-url") if args.internal_url else public
    rows = register(connect(args.cloud), args.name, args.region, {"public": public, "internal": internal})
    for line in table(("what", "id", "url", "done"), [(row.what, row.id, row.url, row.done) for row in rows]):
        print(line)
    return 0


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("register-endpoint", help="register the gateway in Keystone's catalog",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--public-url", default=os.environ.get("VMHA_GATEWAY_URL", ""), metavar="URL",
                         help="the gateway's base URL for users; env VMHA_GATEWAY_URL")
    command.add_argument("--internal-url", default="", metavar="URL",
                         help="the gateway's base URL for services (default: the public one)")
    command.add_argument("--region", default=os.environ.get("OS_REGION_NAME") or "RegionOne",
                         help="the region (created if missing; default RegionOne); env OS_REGION_NAME")
    command.add_argument("--name", default="vmha", help="the service's name (default vmha)")
    command.add_argument("--cloud", default=os.environ.get("OS_CLOUD"), help="clouds.yaml entry; env OS_CLOUD")
    command.set_defaults(run=_run)
