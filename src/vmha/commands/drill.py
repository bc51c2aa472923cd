"""``vmha drill``: fail a canary host through the real pipeline and print a verdict (see vmha.drill).

    vmha drill --host compute1 --segment SEG --fencing-file /etc/vmha/fencing.yaml

Credentials: clouds.yaml / OS_CLOUD (an admin: the canaries are pinned to the host, its service is read);
the gateway is the ``instance-ha`` endpoint of the Keystone catalog (``--gateway-region`` when it is
registered in a region of its own).
"""

from __future__ import annotations

import argparse
import os
import sys

from vmha.drill import DrillOptions, run


def _run(args: argparse.Namespace) -> int:
    options = DrillOptions(
        host=args.host, segment=args.segment, fencing_file=args.fencing_file or "", cloud=args.cloud,
        gateway_region=args.gateway_region, servers=args.servers, image=args.image, flavor=args.flavor,
        include_existing=args.include_existing, recovery_timeout_seconds=args.timeout,
        return_timeout_seconds=args.return_timeout)
    try:
        return run(options)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the drill's clean-ups have run
        print("vmha drill: interrupted (its clean-ups ran, see above)", file=sys.stderr)
        return 130


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("drill", help="fail a canary host for real and judge the recovery",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    command.add_argument("--host", required=True, help="the host to fail (a member of --segment)")
    command.add_argument("--segment", required=True, help="the host's vmha segment (its aggregate's name)")
    command.add_argument("--fencing-file", default=env("VMHA_FENCING_FILE"),
                         help="the hosts' BMCs (fencing.schema.json), as the gateway fences; env VMHA_FENCING_FILE")
    command.add_argument("--cloud", default=env("OS_CLOUD"), help="clouds.yaml entry; env OS_CLOUD")
    command.add_argument("--gateway-region", default=None,
                         help="region of the gateway's instance-ha endpoint (default: the cloud's)")
    command.add_argument("--servers", type=_positive, default=2, help="canary servers booted on the host (default 2)")
    command.add_argument("--image", default="vmha-tiny", help="image of the canaries (default vmha-tiny)")
    command.add_argument("--flavor", default="m1.tiny", help="flavor of the canaries (default m1.tiny)")
    command.add_argument("--include-existing", action="store_true",
                         help="drill a host that holds other servers too (they are failed over with the canaries)")
    command.add_argument("--timeout", type=float, default=300.0,
                         help="seconds from the power-off to wait for detection and recovery (default 300)")
    command.add_argument("--return-timeout", type=float, default=600.0,
                         help="seconds from the power-on to wait for the host back in service (default 600)")
    command.set_defaults(run=_run)
