"""The `vmha` operator command. Subcommands grow with the project (gateway, monitor, deploy, demo).

Every failure an operator can cause (bad settings file, unknown option) ends in one clear line on stderr
and exit status 2, never a traceback. ``vmha monitor`` runs on every compute host in a small memory budget:
it is parsed on its own, and the other subcommands (openstacksdk, the gateway, the journal) are imported
only when one of them runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmha import __version__
from vmha.contracts import ContractError, Settings, environment_variables, load_settings
from vmha.contracts.reference import settings_reference
from vmha.contracts.secrets import gateway_secrets, masked_settings
from vmha.monitors.kinds import HOST, KINDS

if TYPE_CHECKING:
    from vmha.gateway import Gateway

DEFAULT_STEPS = "vmha.functions:STEPS"
DEFAULT_INTAKE = "vmha.functions:intake"
DEFAULT_ON_FAILED = "vmha.functions:after_failure"
DEFAULT_ON_SWEEP = "vmha.sweeps:look_once"
DEFAULT_STOP_TIMEOUT = "30"


def _settings_check(args: argparse.Namespace) -> int:
    """Validate a settings file (plus VMHA_* environment overrides) and print the effective settings, secrets
    masked; for a compute host's file (``--role monitor``), refuse one that holds a gateway secret."""
    settings = load_settings(args.file)
    _check_custom_flows(settings)
    shown = masked_settings(settings)
    if settings.api.config_file:
        from vmha.api.auth import masked_config  # noqa: PLC0415  (see the module docstring)

        shown["api"]["config"] = masked_config(settings.api.config_file)
    print(json.dumps(shown, indent=2, default=str))
    held = gateway_secrets(settings) if args.role == "monitor" else []
    if held:
        print(f"vmha: a compute host's settings hold gateway secrets: {', '.join(held)}; keep them in the "
              "gateway's settings file only", file=sys.stderr)
        return 2
    return 0


def _settings_env(_: argparse.Namespace) -> int:
    """List every VMHA_* environment variable and the setting it overrides."""
    for variable, path in sorted(environment_variables().items()):
        print(f"{variable:<48} {'.'.join(path)}")
    return 0


def _check_custom_flows(settings: Settings) -> dict[str, Any]:
    """Refuse a custom flows file with unknown steps, whose host flows evacuate without fencing first, whose own
    steps stand where they may not or cannot load; the table entries of its own steps."""
    if not settings.custom_flows_file:
        return {}
    from vmha.functions.registry import operator_steps  # noqa: PLC0415  (see the module docstring)

    return dict(operator_steps(settings))


def _settings_reference(_: argparse.Namespace) -> int:
    """Print the configuration reference (the README embeds the same table)."""
    print(settings_reference(), end="")
    return 0


def build_gateway(settings_file: Path | None, steps: str, intake: str, on_failed: str = DEFAULT_ON_FAILED,
                  on_sweep: str = DEFAULT_ON_SWEEP) -> Gateway:
    """The gateway of ``vmha gateway`` and ``vmha.wsgi`` (not started): settings and custom flows checked, logs
    as JSON lines on stderr, the step table (plus the operator's own steps of the custom flows file), the intake,
    the failure hook and the sweep hook loaded from ``module:attribute`` (an empty sweep hook: none)."""
    from vmha import gateway  # noqa: PLC0415  (see the module docstring)
    from vmha.runtime import logs  # noqa: PLC0415

    settings = load_settings(settings_file)
    operator_steps = _check_custom_flows(settings)
    logs.configure()
    return gateway.build(settings, {**gateway.load_target(steps), **operator_steps}, gateway.load_target(intake),
                         gateway.load_target(on_failed), gateway.load_target(on_sweep) if on_sweep else None)


def _gateway(args: argparse.Namespace) -> int:
    """Run the recovery runtime until SIGTERM or SIGINT: consume the queues, run the steps."""
    from vmha import gateway  # noqa: PLC0415  (see the module docstring)

    built = build_gateway(args.settings, args.steps, args.intake, args.on_failed, args.on_sweep)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    gateway.serve(built, stop, args.stop_timeout)
    return 0


def _add_gateway(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("gateway", help="run the recovery runtime (queue consumer and wake-up endpoint)")
    command.add_argument("--settings", type=Path, default=os.environ.get("VMHA_SETTINGS_FILE") or None,
                         help="settings file (YAML or JSON); env VMHA_SETTINGS_FILE; defaults only if absent")
    command.add_argument("--steps", default=os.environ.get("VMHA_STEPS", DEFAULT_STEPS),
                         help="the step table as module:attribute; env VMHA_STEPS")
    command.add_argument("--intake", default=os.environ.get("VMHA_INTAKE", DEFAULT_INTAKE),
                         help="the intake function as module:attribute; env VMHA_INTAKE")
    command.add_argument("--on-failed", default=os.environ.get("VMHA_ON_FAILED", DEFAULT_ON_FAILED),
                         help="what runs when a recovery fails (unlocks the servers it locked, runs the custom flows' "
                              "on_failure steps), as module:attribute; "
                              "env VMHA_ON_FAILED")
    command.add_argument("--on-sweep", default=os.environ.get("VMHA_ON_SWEEP", DEFAULT_ON_SWEEP),
                         help="what the sweeper also runs on each look (returns recovered hosts to service, then "
                              "drives failbacks: vmha.sweeps), as module:attribute, empty for nothing; "
                              "env VMHA_ON_SWEEP")
    command.add_argument("--stop-timeout", type=float,
                         default=os.environ.get("VMHA_STOP_TIMEOUT", DEFAULT_STOP_TIMEOUT),
                         help="seconds in-flight steps may take to finish on SIGTERM; env VMHA_STOP_TIMEOUT")
    command.set_defaults(run=_gateway)


def _monitor(args: argparse.Namespace) -> int:
    """Run compute-host monitors until SIGTERM or SIGINT (or one detection pass with --once)."""
    from vmha.monitors import runner  # noqa: PLC0415  (libvirt-python: compute hosts only)

    return runner.main(args.kind, load_settings(args.config), once=args.once)


def _add_monitor(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _monitor_arguments(commands.add_parser("monitor", help="run the compute-host monitors (settings: monitor.*)"))


def _monitor_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("kind", nargs="?", default="all", choices=("all", *KINDS, HOST),
                         help="which monitor to run (default: all but host)")
    command.add_argument("--config", "--settings", dest="config", type=Path,
                         default=os.environ.get("VMHA_SETTINGS_FILE") or None,
                         help="settings file (YAML or JSON); env VMHA_SETTINGS_FILE; defaults only if absent")
    command.add_argument("--once", action="store_true", help="one detection pass, deliver, exit")
    command.set_defaults(run=_monitor)


def parser() -> argparse.ArgumentParser:
    """Every subcommand (imports them all)."""
    from vmha.commands import db, demo, deploy, drill, register_endpoint, status, webhook_url  # noqa: PLC0415  (see the module docstring)

    root = argparse.ArgumentParser(prog="vmha", description="VM high availability for OpenStack.")
    root.add_argument("--version", action="version", version=f"vmha {__version__}")
    commands = root.add_subparsers(dest="command", required=True)
    settings = commands.add_parser("settings", help="inspect the settings file").add_subparsers(
        dest="action", required=True)
    check = settings.add_parser("check", help="validate and print the effective settings (secrets masked)")
    check.add_argument("file", type=Path, nargs="?", help="settings file (YAML or JSON); defaults only if absent")
    check.add_argument("--role", choices=("gateway", "monitor"), default="gateway",
                       help="monitor: also refuse gateway secrets (a compute host's file)")
    check.set_defaults(run=_settings_check)
    settings.add_parser("env", help="list the VMHA_* environment variables").set_defaults(run=_settings_env)
    settings.add_parser("reference", help="every setting as a Markdown table").set_defaults(
        run=_settings_reference)
    _add_gateway(commands)
    _add_monitor(commands)
    deploy.add(commands)
    register_endpoint.add(commands)
    db.add(commands)
    status.add(commands)
    demo.add(commands)
    drill.add(commands)
    webhook_url.add(commands)
    return root


def _operator_errors() -> tuple[type[Exception], ...]:
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415

    from vmha.demo.hosts import DemoError  # noqa: PLC0415  (see the module docstring)
    from vmha.deploy import DeployError  # noqa: PLC0415
    from vmha.drill import DrillError  # noqa: PLC0415
    from vmha.gateway import StartupError  # noqa: PLC0415
    from vmha.journal import JournalError  # noqa: PLC0415
    from vmha.signing import SigningError  # noqa: PLC0415

    return (ContractError, OSError, StartupError, DeployError, DemoError, DrillError, SigningError, JournalError,
            OperationalError)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["monitor"]:
        monitor = argparse.ArgumentParser(prog="vmha monitor", description="Run the compute-host monitors.")
        _monitor_arguments(monitor)
        return _call(monitor.parse_args(arguments[1:]), (ContractError, OSError))
    return _call(parser().parse_args(arguments), _operator_errors())


def _call(args: argparse.Namespace, expected: tuple[type[Exception], ...]) -> int:
    try:
        code: int = args.run(args)
    except expected as error:
        print(f"vmha: {error}", file=sys.stderr)
        return 2
    return code
