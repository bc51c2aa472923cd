"""`vmha deploy` as operators run it: creates the stack wired to the gateway's webhooks through Keystone
trusts (the default; the secret is never printed), a second run changes nothing, --delete removes it; asked
for signed URLs without a secret it refuses in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

from tests.cloud.layout import Layout

SECRET = "deploy-cli-webhook-secret"


def _vmha(layout: Layout, *args: str, secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml), "OS_CLOUD": "vmha-admin",
           "VMHA_API_WEBHOOK_SECRET": secret}
    env.pop("VMHA_SETTINGS_FILE", None)
    return subprocess.run([sys.executable, "-m", "vmha", *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_deploy_twice_then_delete(cloud_layout: Layout, admin_conn: Any) -> None:
    name = f"deploy-cli-{uuid.uuid4().hex[:8]}"
    args = ("deploy", "--stack-name", name, "-e", "local-cloud", "-p", f"queue_prefix={name}",
            "-p", f"segments=[{{name: {name}, hosts: [compute2]}}]")
    try:
        first = _vmha(cloud_layout, *args)
        assert first.returncode == 0, first.stderr
        assert f"creating stack {name}" in first.stdout and f"stack {name} CREATE_COMPLETE" in first.stdout
        outputs = json.loads(first.stdout[first.stdout.index("\n{") + 1:])
        assert SECRET not in first.stdout + first.stderr
        for caller, url in outputs["webhook_urls"].items():
            assert url == f"trust+http://127.0.0.1:15868/v1/webhooks/{caller}"
        again = _vmha(cloud_layout, *args)
        assert again.returncode == 0, again.stderr
        assert f"stack {name} UPDATE_COMPLETE" in again.stdout
        assert json.loads(again.stdout[again.stdout.index("\n{") + 1:]) == outputs | {"status": "UPDATE_COMPLETE"}
        aggregate = admin_conn.compute.get_aggregate(outputs["segment_ids"][0])
        assert (aggregate.name, aggregate.hosts) == (name, ["compute2"])
    finally:
        gone = _vmha(cloud_layout, "deploy", "--stack-name", name, "--delete")
    assert gone.returncode == 0, gone.stderr
    assert admin_conn.orchestration.find_stack(name) is None


def test_deploy_without_a_webhook_secret_is_refused_in_one_line(cloud_layout: Layout, admin_conn: Any) -> None:
    name = f"deploy-cli-{uuid.uuid4().hex[:8]}"
    refused = _vmha(cloud_layout, "deploy", "--stack-name", name, "-e", "local-cloud", "-p", "webhook_auth=signed",
                    secret="")
    assert refused.returncode == 2 and refused.stderr.startswith("vmha: ") and "webhook_secret" in refused.stderr
    assert "Traceback" not in refused.stderr and admin_conn.orchestration.find_stack(name) is None
