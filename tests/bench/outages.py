"""Outage soak (issue 15 item 3, outside CI): each dependency stopped for ``--seconds`` (5 minutes) while a real
gateway recovers a killed host, then started again (``tests.outage_support``: Nova's API, Zaqar, the journal's
PostgreSQL, etcd). Prints per outage how the notification ended, the evacuations per server, the servers left
locked or not moved, what stayed queued or went to the dead letters, and how long after the service answered
again the recovery ended; ``--json`` writes the same. Exit status 1 if any outage was not ridden out.
Run: `.venv/bin/python -m tests.bench.outages [--outages nova,zaqar,journal,etcd] [--seconds 300] [--servers 3]
[--json FILE]`. The local cloud must be up; nothing else should use it meanwhile.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.cloud import catalog
from tests.cloud.layout import Layout
from tests.outage_support import OUTAGES, RiddenOut, ride_out
from vmha.journal import NotificationStatus


def ridden_out(run: RiddenOut) -> bool:
    """Whether the recovery came through the outage whole."""
    return (run.detail.notification.status is NotificationStatus.FINISHED and set(run.evacuations) == {1}
            and all(run.moved) and not any(run.locked) and run.left_in_queues == run.dead_letters == 0
            and run.gateway_alive)


def figures(run: RiddenOut) -> dict[str, Any]:
    notification = run.detail.notification
    return {"outage": run.outage, "seconds": run.seconds, "status": notification.status.value,
            "reason": notification.status_reason, "evacuations": list(run.evacuations),
            "locked": sum(run.locked), "not_moved": len(run.moved) - sum(run.moved),
            "ended_after_restart_seconds": round(run.ended_after_restart, 1), "left_in_queues": run.left_in_queues,
            "dead_letters": run.dead_letters, "gateway_alive": run.gateway_alive, "ridden_out": ridden_out(run)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.outages", description=__doc__.split("\n")[0])
    parser.add_argument("--outages", default=",".join(OUTAGES), help="comma-separated, of " + ", ".join(OUTAGES))
    parser.add_argument("--seconds", type=float, default=300.0, help="length of each outage (default 300)")
    parser.add_argument("--servers", type=int, default=3, help="HA servers on the killed host (default 3)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    chosen = [name for name in args.outages.split(",") if name]
    unknown = sorted(set(chosen) - set(OUTAGES))
    if unknown:
        parser.error(f"unknown outage {', '.join(unknown)}; choose from {', '.join(OUTAGES)}")
    layout = Layout.from_env()
    conn = catalog.connect(layout, "vmha-admin")
    rows = []
    for outage in chosen:
        with tempfile.TemporaryDirectory(prefix=f"vmha-outage-{outage}-") as scratch:
            run = ride_out(conn, layout, Path(scratch), outage, args.seconds, servers=args.servers, say=print)
        rows.append(figures(run))
        print(f"{outage:8} {'ridden out' if rows[-1]['ridden_out'] else 'NOT ridden out'}: "
              f"{rows[-1]['status']} {rows[-1]['ended_after_restart_seconds']} s after it answered again, "
              f"evacuations {rows[-1]['evacuations']}, locked {rows[-1]['locked']}, "
              f"queued {rows[-1]['left_in_queues']}, dead letters {rows[-1]['dead_letters']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"arguments": vars(args) | {"json": str(args.json)}, "runs": rows},
                                        indent=2) + "\n")
    return 0 if all(row["ridden_out"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
