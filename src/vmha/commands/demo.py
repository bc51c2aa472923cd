"""``vmha demo``: a live host failure and its recovery (see vmha.demo). On the local test cloud:

    vmha demo --kill-command "python -m tests.cloud kill-host {host}" \\
              --start-command "python -m tests.cloud start-host {host}"

(``tools/demo`` brings the local cloud up and runs exactly that). Credentials: clouds.yaml / OS_CLOUD.
"""

from __future__ import annotations

import argparse
import os

from vmha.demo import DemoOptions, run
from vmha.demo.hosts import DemoError


def _run(args: argparse.Namespace) -> int:
    if not args.kill_command or not args.start_command:
        raise DemoError("--kill-command and --start-command are required (env VMHA_DEMO_KILL_COMMAND, "
                         "VMHA_DEMO_START_COMMAND): vmha cannot kill the hosts of a real cloud by itself")
    options = DemoOptions(
        kill_command=args.kill_command, start_command=args.start_command, cloud=args.cloud, host=args.host,
        servers=args.servers, bystanders=args.bystanders, image=args.image, flavor=args.flavor,
        fencing=args.fencing, notify=args.notify, journal_url=args.journal_url, timeout_seconds=args.timeout)
    return run(options)


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("demo", help="kill a host and watch vmha recover its servers",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--kill-command", default=os.environ.get("VMHA_DEMO_KILL_COMMAND"),
                         help="command that kills a host, {host} standing for its name")
    command.add_argument("--start-command", default=os.environ.get("VMHA_DEMO_START_COMMAND"),
                         help="command that starts a killed host again, {host} standing for its name")
    command.add_argument("--cloud", default=os.environ.get("OS_CLOUD"), help="clouds.yaml entry; env OS_CLOUD")
    command.add_argument("--host", default="compute1", help="the host to kill (default compute1)")
    command.add_argument("--servers", type=int, default=3, help="servers booted on that host (default 3)")
    command.add_argument("--bystanders", type=int, default=1, help="servers booted on each other host (default 1)")
    command.add_argument("--image", default="vmha-tiny", help="image of the servers (default vmha-tiny)")
    command.add_argument("--flavor", default="m1.tiny", help="flavor of the servers (default m1.tiny)")
    command.add_argument("--fencing", choices=("disabled", "required"), default="disabled",
                         help="the segment's vmha:fencing (default disabled)")
    command.add_argument("--no-notify", dest="notify", action="store_false",
                         help="do not post the host failure; leave detection to a running host monitor")
    command.add_argument("--journal-url", default=None, help="journal to use (default: a temporary SQLite file)")
    command.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the recovery")
    command.set_defaults(run=_run)
