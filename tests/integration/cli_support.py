"""The real `openstack` command run as an operator runs it, output read with `-f json`."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.cloud.layout import Layout

OPENSTACK = str(Path(sys.executable).parent / "openstack")


class OpenStackCli:
    """`openstack [prefix...] ...` in the environment ``env``."""

    def __init__(self, env: dict[str, str], *prefix: str) -> None:
        self.env = env
        self._prefix = prefix

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([OPENSTACK, *self._prefix, *args], env=self.env, capture_output=True, text=True,
                              timeout=120, check=False)

    def json(self, *args: str) -> Any:
        done = self.run(*args, "-f", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def refused(self, *args: str) -> str:
        """Run a command that must fail, without a traceback; return its error output."""
        done = self.run(*args)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        return done.stderr.strip()


def remove_aggregate(conn: Any, name: str) -> None:
    """Remove the aggregate ``name`` (its hosts first, as Nova wants) if a command left one."""
    aggregate = conn.compute.find_aggregate(name)
    if aggregate is not None:
        for host in aggregate.hosts or ():
            conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)


def clouds_yaml(layout: Layout, regions: tuple[str, ...], folder: Path) -> Path:
    """A clouds.yaml whose vmha-admin cloud lists ``regions``, the first its default."""
    clouds = yaml.safe_load(layout.clouds_yaml.read_text())
    clouds["clouds"]["vmha-admin"]["regions"] = list(regions)
    clouds["clouds"]["vmha-admin"].pop("region_name", None)
    path = folder / "clouds.yaml"
    path.write_text(yaml.safe_dump(clouds))
    return path


@contextlib.contextmanager
def gateway_in_catalog(layout: Layout, conn: Any, url: str,
                       folder: Path) -> Iterator[tuple[OpenStackCli, OpenStackCli]]:
    """The gateway at ``url`` registered as the operator guide says (`vmha register-endpoint`) in a region of
    its own; yields `openstack` in the cloud's region and `openstack vmha` choosing the gateway's. Everything
    registered is removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    region, name = f"vmha-gateway-{suffix}", f"vmha-gateway-{suffix}"
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("OS_", "VMHA_"))}
    admin_env = clean | {"OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "OS_CLOUD": "vmha-admin"}
    choosing = clean | {"OS_CLIENT_CONFIG_FILE": str(clouds_yaml(layout, (region,), folder)),
                        "OS_CLOUD": "vmha-admin"}
    try:
        done = register_endpoint(admin_env, "--public-url", url, "--region", region, "--name", name)
        assert done.returncode == 0, done.stderr
        yield OpenStackCli(admin_env), OpenStackCli(choosing, "vmha")
    finally:
        unregister(conn, name, region)


def register_endpoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`vmha register-endpoint ARGS` run as an operator runs it."""
    return subprocess.run([str(Path(sys.executable).parent / "vmha"), "register-endpoint", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def unregister(conn: Any, name: str, region: str) -> None:
    """Remove the service ``name``, its endpoints and ``region`` if a test registered them."""
    service = conn.identity.find_service(name)
    if service is not None:
        for endpoint in conn.identity.endpoints(service_id=service.id):
            conn.identity.delete_endpoint(endpoint)
        conn.identity.delete_service(service)
    if conn.identity.find_region(region) is not None:
        conn.identity.delete_region(region)
