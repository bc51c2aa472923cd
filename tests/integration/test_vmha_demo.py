"""`vmha demo` runs to completion headless (as in CI) and its final table shows every server of the
killed host ACTIVE on a new host; afterwards the host is back in service and nothing is left behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from tests.cloud import helpers
from tests.cloud.layout import Layout

HOST = "compute2"
TABLE_HEADER = ["SERVER", "OLD HOST", "NEW HOST", "STATE"]


def _final_table(output: str) -> list[dict[str, str]]:
    lines = output.splitlines()
    start = next(n for n, line in enumerate(lines) if re.split(r"\s{2,}", line.strip()) == TABLE_HEADER)
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("vmha-demo-"):
            break
        rows.append(dict(zip(TABLE_HEADER, re.split(r"\s{2,}", line.strip()), strict=True)))
    return rows


def test_the_demo_recovers_every_server_of_the_killed_host(cloud_layout: Layout, admin_conn: Any) -> None:
    python = sys.executable
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(cloud_layout.clouds_yaml), "OS_CLOUD": "vmha-admin"}
    try:
        done = subprocess.run(
            [python, "-m", "vmha", "demo", "--host", HOST, "--servers", "2", "--bystanders", "0", "--timeout", "240",
             "--kill-command", f"{python} -m tests.cloud kill-host {{host}}",
             "--start-command", f"{python} -m tests.cloud start-host {{host}}"],
            env=env, capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
    finally:
        if not helpers.host_is_running(cloud_layout, HOST):  # the demo died before restoring it
            helpers.restore_host(cloud_layout, admin_conn, HOST)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    rows = _final_table(done.stdout)
    assert len(rows) == 2
    for row in rows:
        assert (row["OLD HOST"], row["STATE"]) == (HOST, "ACTIVE")
        assert row["NEW HOST"] not in (HOST, "-")
    assert re.search(r"^recovery time: \d+\.\d s ", done.stdout, re.MULTILINE)
    assert re.search(r"^vmha's notification: (finished|failed);", done.stdout, re.MULTILINE)
    for phase in ("[detection]", "[fencing]", "[isolation]", "[evacuation]", "[cleanup]"):
        assert phase in done.stdout
    service = helpers.compute_service(admin_conn, HOST)
    assert (service.state, service.status, service.is_forced_down) == ("up", "enabled", False)
    assert not [server for server in admin_conn.compute.servers() if server.name.startswith("vmha-demo-")]
    assert not [stack for stack in admin_conn.orchestration.stacks() if stack.name.startswith("vmha-demo-")]
