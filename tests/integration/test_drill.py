"""`vmha drill` on the local cloud (issue 18 item 5), run as an operator runs it, on the stage of
tests.drill_support (a registered gateway, a two-host segment, the host monitors, the drilled host's
hardware following its BMC): the peer's monitor reports the powered-off host, the gateway fences and
evacuates the canaries, the drill returns the host through the API and judges. The refusals change nothing."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.drill_support import PHASE_HEADER, SERVER_HEADER, drill, free_pair, in_service, rows, stage
from vmha.fencing import PowerState, load_fencing_config, power_driver

from .recovery_support import HA, segment

PHASES = ("detected", "admitted", "fenced", "first ACTIVE", "all ACTIVE", "back in service")


@pytest.fixture
def hosts(admin_conn: Any) -> tuple[str, str]:
    """Two fake compute hosts for a drill (tests.drill_support.free_pair), waited for."""
    found: list[tuple[str, str]] = []

    def pair() -> bool:
        found[:] = [chosen] if (chosen := free_pair(admin_conn)) else []
        return bool(found)

    assert wait_until(pair, 600, 5), "fewer than two compute hosts free of other tests"
    return found[0]


def test_the_drill_fails_the_host_for_real_and_returns_it(
        admin_conn: Any, cloud_layout: Layout, tmp_path: Path, hosts: tuple[str, str]) -> None:
    conn, victim = admin_conn, hosts[0]
    with stage(conn, cloud_layout, tmp_path, hosts, {"vmha:rto_seconds": "600"}) as staged:
        done = drill(cloud_layout, "--host", victim, "--segment", staged.segment, "--servers", "2",
                     "--timeout", "240", "--return-timeout", "240", staged=staged)
        out = done.stdout
        assert done.returncode == 0, out[-6000:] + done.stderr[-3000:] + staged.monitors.tail(hosts[1], 10)
        assert staged.powered.errors == [] and staged.powered.cuts == 1
        back = in_service(conn, victim)
    print(f"\nvmha drill of {victim}:\n{out}")
    assert re.search(rf"\[failure\]\s+{victim} powered off through its BMC", out)
    assert re.search(r"\[detection\]\s+notification \S+ \(COMPUTE_HOST", out)
    assert re.search(r"\[recovery\]\s+fence_host: ", out), out
    assert re.search(rf"\[return\]\s+the gateway returns {victim} \(notification ", out)
    phases = {row["PHASE"]: row for row in rows(out, PHASE_HEADER)}
    assert tuple(phases) == PHASES
    seconds = [float(phases[phase]["SECONDS"]) for phase in PHASES[:5]]
    assert seconds == sorted(seconds), phases  # each phase ends after the one before
    assert (phases["all ACTIVE"]["OBJECTIVE"], phases["all ACTIVE"]["MET"]) == ("600", "yes")
    assert float(phases["back in service"]["SECONDS"]) > 0
    canaries = rows(out, SERVER_HEADER)
    assert len(canaries) == 2
    for canary in canaries:
        assert canary["SERVER"].startswith(f"drill-{victim}-")
        assert (canary["FROM"], canary["STATE"], canary["EVACUATIONS"], canary["ONCE"]) == (victim, "ACTIVE", "1",
                                                                                            "yes")
        assert canary["TO"] not in (victim, "-")
    assert "drill PASSED" in out
    assert back
    assert not [server for server in conn.compute.servers(all_projects=True) if server.name.startswith("drill-")]


def test_the_drill_refuses_and_changes_nothing(admin_conn: Any, cloud_layout: Layout,
                                               hosts: tuple[str, str]) -> None:
    conn, victim = admin_conn, hosts[0]
    unknown = drill(cloud_layout, "--host", f"drill-nohost-{uuid.uuid4().hex[:6]}", "--segment", "any")
    nowhere = drill(cloud_layout, "--host", victim, "--segment", "any")
    with segment(conn, hosts, {"vmha:fencing": "disabled"}, "drill") as unfenced:
        opted_out = drill(cloud_layout, "--host", victim, "--segment", unfenced.name)
    with segment(conn, hosts, {"vmha:maintenance_hosts": victim}, "drill") as maintained:
        maintenance = drill(cloud_layout, "--host", victim, "--segment", maintained.name)
    with segment(conn, hosts, {"vmha:recovery_method": "auto"}, "drill") as fenced:
        [other] = helpers.boot_servers(conn, victim, 1, f"drill-other-{uuid.uuid4().hex[:6]}", metadata=HA)
        try:
            occupied = drill(cloud_layout, "--host", victim, "--segment", fenced.name)
            wrong = drill(cloud_layout, "--host", victim, "--segment", f"{fenced.name}-not")
        finally:
            helpers.delete_servers(conn, [other])
    expected = [
        (unknown, "unknown host drill-nohost-"),
        (nowhere, f"{victim} is in no vmha segment"),
        (opted_out, "has vmha:fencing disabled"),
        (maintenance, f"{victim} is in maintenance"),
        (occupied, f"{victim} holds "),
        (wrong, f"{victim} is in segment {fenced.name}, not {fenced.name}-not"),
    ]
    assert re.search(r"holds \d+ servers the drill did not boot \(.*drill-other-.*pass --include-existing",
                     occupied.stderr), occupied.stderr
    for done, message in expected:
        assert done.returncode == 2 and done.stderr.startswith("vmha: ") and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "[failure]" not in done.stdout
    assert power_driver(load_fencing_config(cloud_layout.fencing_yaml)[victim]).power_state() is PowerState.ON
    assert in_service(conn, victim)
    assert not [server for server in conn.compute.servers(all_projects=True) if server.name.startswith("drill-")]
