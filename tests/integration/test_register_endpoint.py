"""`vmha register-endpoint` on the real Keystone: creates the region, the instance-ha service and its public
and internal endpoints; a second run changes nothing; a new internal URL updates only that endpoint; a user
without the admin role and a URL that is not one are refused in one line."""

from __future__ import annotations

import os
import uuid
from typing import Any

from tests.cloud.layout import Layout

from .cli_support import register_endpoint, unregister


def _done(stdout: str) -> dict[str, tuple[str, str]]:
    """The printed table as {what: (url, done)}."""
    done: dict[str, tuple[str, str]] = {}
    for row in (line.split() for line in stdout.splitlines()[1:]):
        if row[1] == "endpoint":  # public endpoint ID URL DONE
            done[f"{row[0]} endpoint"] = (row[3], row[4])
        else:  # region|service ID DONE
            done[row[0]] = ("", row[2])
    return done


def test_register_twice_then_move_the_internal_endpoint(cloud_layout: Layout, admin_conn: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    region, name = f"register-endpoint-{suffix}", f"register-endpoint-{suffix}"
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(cloud_layout.clouds_yaml), "OS_CLOUD": "vmha-admin"}
    args = ("--public-url", "https://vmha.example.net:15868", "--region", region, "--name", name)
    try:
        first = register_endpoint(env, *args)
        assert first.returncode == 0, first.stderr
        assert _done(first.stdout) == {"region": ("", "created"), "service": ("", "created"),
                                       "public endpoint": ("https://vmha.example.net:15868/v1", "created"),
                                       "internal endpoint": ("https://vmha.example.net:15868/v1", "created")}
        service = admin_conn.identity.find_service(name)
        assert service.type == "instance-ha"
        urls = {(e.interface, e.region_id, e.url) for e in admin_conn.identity.endpoints(service_id=service.id)}
        assert urls == {("public", region, "https://vmha.example.net:15868/v1"),
                        ("internal", region, "https://vmha.example.net:15868/v1")}

        again = register_endpoint(env, *args)
        assert again.returncode == 0, again.stderr
        assert {done for _url, done in _done(again.stdout).values()} == {"unchanged"}

        moved = register_endpoint(env, *args, "--internal-url", "http://10.0.0.5:15868/")
        assert moved.returncode == 0, moved.stderr
        assert _done(moved.stdout)["internal endpoint"] == ("http://10.0.0.5:15868/v1", "updated")
        assert _done(moved.stdout)["public endpoint"][1] == "unchanged"
        assert len(list(admin_conn.identity.endpoints(service_id=service.id))) == 2
    finally:
        unregister(admin_conn, name, region)


def test_register_refused_without_admin_or_url(cloud_layout: Layout, admin_conn: Any) -> None:
    region = f"register-endpoint-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(cloud_layout.clouds_yaml), "OS_CLOUD": "vmha-demo"}
    member = register_endpoint(env, "--public-url", "http://127.0.0.1:1", "--region", region)
    assert member.returncode == 2 and member.stderr.startswith("vmha: Keystone refused the registration")
    assert "Traceback" not in member.stderr and admin_conn.identity.find_region(region) is None
    bad = register_endpoint(env, "--public-url", "vmha.example.net", "--region", region)
    assert bad.returncode == 2 and "--public-url must be the gateway's http(s) base URL" in bad.stderr
