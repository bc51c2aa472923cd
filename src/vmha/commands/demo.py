"""``vmha demo``: a live host failure and its recovery (see vmha.demo). On the local test cloud:

    vmha demo --kill-command "python -m tests.cloud kill-host {host}" \\
              --start-command "python -m tests.cloud start-host {host}" \\
              --coordination-url etcd3+http://127.0.0.1:22379 --fencing-file .cloud/fencing.yaml

(``tools/demo`` brings the local cloud up and runs exactly that). Credentials: clouds.yaml / OS_CLOUD.
"""

from __future__ import annotations

import argparse
import os
import sys

from vmha.demo import DemoOptions, run
from vmha.demo.hosts import DemoError


def _run(args: argparse.Namespace) -> int:
    if not args.kill_command or not args.start_command:
        raise DemoError("--kill-command and --start-command are required (env VMHA_DEMO_KILL_COMMAND, "
                        "VMHA_DEMO_START_COMMAND): vmha cannot kill the hosts of a real cloud by itself")
    if not args.coordination_url:
        raise DemoError("--coordination-url is required (env VMHA_DEMO_COORDINATION_URL): the host monitors "
                        "heartbeat into a tooz group (etcd3+http:// or redis://)")
    if args.fencing == "required" and not args.fencing_file:
        raise DemoError("--fencing required needs --fencing-file (env VMHA_DEMO_FENCING_FILE): the BMC of each "
                        "host; or --fencing disabled")
    options = DemoOptions(
        kill_command=args.kill_command, start_command=args.start_command, coordination_url=args.coordination_url,
        fencing_file=args.fencing_file or "", cloud=args.cloud, host=args.host, servers=args.servers,
        bystanders=args.bystanders, image=args.image, flavor=args.flavor, fencing=args.fencing,
        nova_stale_seconds=args.nova_stale, journal_url=args.journal_url, timeout_seconds=args.timeout)
    try:
        return run(options)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the demo's clean-ups have run
        print("vmha demo: interrupted (its clean-ups ran, see above)", file=sys.stderr)
        return 130


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("demo", help="kill a host and watch vmha recover its servers",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    command.add_argument("--kill-command", default=env("VMHA_DEMO_KILL_COMMAND"),
                         help="command that kills a host, {host} standing for its name")
    command.add_argument("--start-command", default=env("VMHA_DEMO_START_COMMAND"),
                         help="command that starts a killed host again, {host} standing for its name")
    command.add_argument("--coordination-url", default=env("VMHA_DEMO_COORDINATION_URL"),
                         help="tooz URL of the host monitors' group (etcd3+http:// or redis://)")
    command.add_argument("--fencing-file", default=env("VMHA_DEMO_FENCING_FILE"),
                         help="the hosts' BMCs (fencing.schema.json): for the monitors, fencing and power-on after")
    command.add_argument("--cloud", default=env("OS_CLOUD"), help="clouds.yaml entry; env OS_CLOUD")
    command.add_argument("--host", default="compute1", help="the host to kill (default compute1)")
    command.add_argument("--servers", type=int, default=3, help="servers booted on that host (default 3)")
    command.add_argument("--bystanders", type=int, default=1, help="servers booted on each other host (default 1)")
    command.add_argument("--image", default="vmha-tiny", help="image of the servers (default vmha-tiny)")
    command.add_argument("--flavor", default="m1.tiny", help="flavor of the servers (default m1.tiny)")
    command.add_argument("--fencing", choices=("disabled", "required"), default="required",
                         help="the segment's vmha:fencing (default required)")
    command.add_argument("--nova-stale", type=float, default=10.0,
                         help="seconds without a nova-compute report after which the monitors believe a host "
                              "is down (default 10: twice the local cloud's report_interval)")
    command.add_argument("--journal-url", default=None, help="journal to use (default: a temporary SQLite file)")
    command.add_argument("--timeout", type=float, default=300.0,
                         help="seconds from the kill to wait for detection and recovery")
    command.set_defaults(run=_run)
