"""`vmha drill` timed on the local cloud: each phase of the drill's verdict (seconds from the power-off through
its BMC to the monitor's report, the gateway's admission, the fence, the first and the last canary ACTIVE
elsewhere; then from the power-on to the host back in service), per run and as medians.

On the stage of tests.drill_support (a registered gateway, a two-host segment, the host monitors with a 1 s
heartbeat and 3 misses, the drilled host's nova-compute and monitor following its BMC), on the first two
compute hosts in no segment (waited for, ``--wait``). ``--json`` writes the runs and medians.
Run: `.venv/bin/python -m tests.bench.drill [--iterations 1] [--servers 2] [--json FILE]` with the local cloud up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.cloud import catalog
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.drill_support import PHASE_HEADER, SERVER_HEADER, drill, free_pair, rows, stage
from vmha.console import table


def run(conn: Any, layout: Layout, hosts: tuple[str, str], servers: int) -> dict[str, Any]:
    """One drill of ``hosts[0]``: its exit status, each phase's seconds (None: not reached), its canaries."""
    with tempfile.TemporaryDirectory(prefix="vmha-bench-drill-") as work, \
            stage(conn, layout, Path(work), hosts, {}) as staged:
        done = drill(layout, "--host", hosts[0], "--segment", staged.segment, "--servers", str(servers),
                     staged=staged)
    if not any(line.startswith("PHASE") for line in done.stdout.splitlines()):
        return {"host": hosts[0], "exit_status": done.returncode, "phases": {}, "canaries": [],
                "error": (done.stderr or done.stdout).strip()[-2000:]}
    phases = {row["PHASE"]: None if row["SECONDS"] == "-" else float(row["SECONDS"])
              for row in rows(done.stdout, PHASE_HEADER)}
    return {"host": hosts[0], "exit_status": done.returncode, "phases": phases,
            "canaries": rows(done.stdout, SERVER_HEADER)}


def medians(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    names = list(dict.fromkeys(name for found in runs for name in found["phases"]))
    reached = {name: [took for found in runs if (took := found["phases"].get(name)) is not None] for name in names}
    return {name: statistics.median(values) if values else None for name, values in reached.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.drill", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1, help="drills (default 1)")
    parser.add_argument("--servers", type=int, default=2, help="canaries per drill (default 2)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--wait", type=float, default=600.0,
                        help="seconds to wait for two compute hosts no other test holds (default 600)")
    options = parser.parse_args(argv)
    if options.iterations < 1 or options.servers < 1:
        parser.error("--iterations and --servers must be at least 1")
    layout = Layout.from_env()
    conn = catalog.connect(layout, "vmha-admin")
    found: list[tuple[str, str]] = []

    def pair() -> bool:
        found[:] = [chosen] if (chosen := free_pair(conn)) else []
        return bool(found)

    if not wait_until(pair, options.wait, 5):
        print("two compute hosts in no segment, up and enabled, the first holding no server, are needed",
              file=sys.stderr)
        return 2
    hosts = found[0]
    runs = []
    for iteration in range(1, options.iterations + 1):
        done = run(conn, layout, hosts, options.servers)
        runs.append(done)
        shown = ", ".join(f"{name} {took}" for name, took in done["phases"].items()) or done.get("error", "")
        print(f"drill {iteration} of {hosts[0]} ({options.servers} canaries): exit {done['exit_status']}; {shown}",
              flush=True)
    summary = medians(runs)
    print("\n".join(table(("PHASE", "MEDIAN SECONDS"),
                          [(name, "-" if took is None else f"{took:.1f}") for name, took in summary.items()])))
    if options.json:
        options.json.write_text(json.dumps({"servers": options.servers, "runs": runs, "medians": summary},
                                           indent=2) + "\n")
    return 0 if all(done["exit_status"] == 0 for done in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
