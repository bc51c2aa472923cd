"""`python -m tests.cloud COMMAND`: operate the local cloud (up, down, status, env, logs, kill-host, start-host)."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from tests.cloud import cloud, helpers, kvm_hosts, procs
from tests.cloud.layout import COMPUTE_HOSTS, KVM_HOSTS, Layout


def _status(layout: Layout, _: argparse.Namespace) -> int:
    rows = cloud.health(layout)
    width = max(len(row.name) for row in rows)
    print(f"{'SERVICE':<{width}}  RUNNING  SERVING   RSS MiB")
    for row in rows:
        serving = "-" if row.serving is None else ("yes" if row.serving else "NO")
        rss = procs.group_rss_mib(layout, row.name)
        print(f"{row.name:<{width}}  {'yes' if row.running else 'NO':<7}  {serving:<7}  {rss:8.0f}")
    total = sum(procs.group_rss_mib(layout, row.name) for row in rows)
    healthy = all(row.running and row.serving is not False for row in rows)
    print(f"total RSS {total:.0f} MiB; cloud {'healthy' if healthy else 'NOT healthy'}; logs in {layout.log}")
    return 0 if healthy else 1


def _logs(layout: Layout, args: argparse.Namespace) -> int:
    """Print the tail of the logs of the named services, or of every service that is down."""
    names = args.names or [row.name for row in cloud.health(layout) if not row.running or row.serving is False]
    for name in names:
        for path in sorted(layout.log.glob(f"{name}*")):
            lines = path.read_text(errors="replace").splitlines()[-args.lines:]
            print(f"===== {path} (last {len(lines)} lines)", *lines, sep="\n")
    return 0


def _env(layout: Layout, _: argparse.Namespace) -> int:
    """Shell exports for using the cloud: `eval "$(python -m tests.cloud env)"`."""
    exports = {
        "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml),
        "OS_CLOUD": "vmha-admin",
        "VMHA_TEST_DB_URLS": ",".join(("sqlite", *layout.journal_test_urls)),
        # `vmha demo`'s host monitors and fencing (read by the demo alone, not by the gateway's settings)
        "VMHA_DEMO_COORDINATION_URL": layout.etcd_url.replace("http://", "etcd3+http://"),
        "VMHA_DEMO_FENCING_FILE": str(layout.fencing_yaml),
        # `tools/demo --hypervisor kvm`: the kvm profile's first host, its guest image and flavor, its BMCs
        "VMHA_DEMO_KVM_HOST": KVM_HOSTS[0],
        "VMHA_DEMO_KVM_IMAGE": kvm_hosts.IMAGE_NAME,
        "VMHA_DEMO_KVM_FLAVOR": kvm_hosts.FLAVOR_NAME,
        "VMHA_DEMO_KVM_FENCING_FILE": str(kvm_hosts.fencing_yaml(layout)),
    }
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _up(layout: Layout, args: argparse.Namespace) -> int:
    cloud.up(layout, fresh=args.fresh, hypervisor=args.hypervisor)
    return 0


def _down(layout: Layout, args: argparse.Namespace) -> int:
    cloud.down(layout, keep_infra=args.keep_infra)
    return 0


def _kill_host(layout: Layout, args: argparse.Namespace) -> int:
    helpers.kill_host(layout, args.host)
    print(f"{args.host}: nova-compute killed")
    return 0


def _start_host(layout: Layout, args: argparse.Namespace) -> int:
    helpers.start_host(layout, args.host)
    print(f"{args.host}: nova-compute started")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m tests.cloud", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the cloud (sets it up the first time)")
    up.add_argument("--fresh", action="store_true", help="wipe databases and state first (keeps the venv)")
    up.add_argument("--hypervisor", choices=("fake", "kvm"), default="fake",
                    help="kvm: also the kvm profile's hosts, Nova's libvirt driver on real QEMU guests (kept by "
                         "later runs of up until --fresh)")
    up.set_defaults(run=_up)
    down = commands.add_parser("down", help="stop every process (data is kept)")
    down.add_argument("--keep-infra", action="store_true", help="leave MariaDB, RabbitMQ, Redis, etcd running")
    down.set_defaults(run=_down)
    commands.add_parser("status", help="processes, health and memory").set_defaults(run=_status)
    commands.add_parser("env", help="shell exports: clouds.yaml, OS_CLOUD, journal test databases, the demo's "
                                    "coordination URL and fencing file").set_defaults(
        run=_env)
    logs = commands.add_parser("logs", help="tail logs of failed (or the named) services")
    logs.add_argument("names", nargs="*")
    logs.add_argument("-n", "--lines", type=int, default=60)
    logs.set_defaults(run=_logs)
    for name, run, text in (("kill-host", _kill_host, "SIGKILL a fake host's nova-compute"),
                            ("start-host", _start_host, "start a fake host's nova-compute again")):
        command = commands.add_parser(name, help=text)
        command.add_argument("host", choices=COMPUTE_HOSTS + KVM_HOSTS)
        command.set_defaults(run=run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(Layout.from_env(), args)
    except procs.StartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
