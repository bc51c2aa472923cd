"""``vmha deploy``: create or update the vmha Heat stack (heat/vmha.yaml), showing Heat's progress.

Idempotent: a second run with the same environment and parameters updates the stack to what it already
is. ``-e NAME`` takes a file, or the name of an environment shipped in heat/environments/ (e.g.
``local-cloud``). ``-p key=value`` values are read as YAML, so lists and maps can be given inline.

The Zaqar subscriptions and Aodh alarms call the gateway's webhooks with Keystone tokens through trusts
(the template's webhook_auth parameter, trust by default: Zaqar and Aodh make the trusts, nothing is
signed). With ``-p webhook_auth=signed`` they call signed URLs instead, signed for the gateway_url parameter
with the gateway's api.webhook_secret, read from its settings (--settings or VMHA_SETTINGS_FILE, and
VMHA_API_WEBHOOK_SECRET). The secret is never printed; the outputs show the signed URLs. They last until
--webhook-expires (default 90 days, to the next UTC midnight so a rerun the same day changes nothing; run
deploy again to renew them; change the secret to revoke them at once).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import openstack
import yaml

from vmha.console import Progress
from vmha.contracts import load_settings
from vmha.deploy import DeployError, StackRequest, bundle, delete, deploy, validate
from vmha.heat import environment_path, template_path
from vmha.signing import DEFAULT_EXPIRY, parse_expiry, whole_day


def connect(cloud: str | None) -> Any:
    """An openstacksdk connection for ``cloud`` (clouds.yaml / OS_CLOUD); DeployError without credentials."""
    try:
        return openstack.connect(cloud=cloud or None)
    except openstack.exceptions.ConfigException as error:
        raise DeployError(f"OpenStack credentials: {error}") from error


def environment(name: str) -> Path:
    """An environment file given as a path, or as the name of one shipped in heat/environments/."""
    path = Path(name)
    if path.exists():
        return path
    shipped = environment_path(name)
    if shipped.exists():
        return shipped
    raise DeployError(f"no environment file {name} (nor heat/environments/{name}.yaml)")


def parameters(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, each value read as YAML; DeployError for a pair without '='."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"parameter {pair!r} is not key=value")
        parsed[key] = yaml.safe_load(value)
    return parsed


def _run(args: argparse.Namespace) -> int:
    conn = connect(args.cloud)
    report = Progress()
    environments = tuple(environment(name) for name in args.environment)
    if args.delete:
        if not delete(conn, args.stack_name, report, args.timeout):
            report(f"no stack {args.stack_name}")
        return 0
    if args.validate:
        validate(conn, bundle(template_path(), environments), parameters(args.parameter))
        report("the templates are valid")
        return 0
    secret = load_settings(args.settings).api.webhook_secret
    request = StackRequest(args.stack_name, environments=environments, parameters=parameters(args.parameter),
                           timeout_seconds=args.timeout, webhook_secret=secret,
                           webhook_expires=whole_day(parse_expiry(args.webhook_expires, time.time())))
    deployed = deploy(conn, request, report)
    print(json.dumps(dataclasses.asdict(deployed), indent=2))
    return 0


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("deploy", help="create or update the vmha Heat stack",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--stack-name", default=os.environ.get("VMHA_STACK_NAME", "vmha"),
                         help="the stack's name (default vmha); env VMHA_STACK_NAME")
    command.add_argument("-e", "--environment", action="append", default=[], metavar="FILE|NAME",
                         help="a Heat environment file, or a shipped one by name (e.g. local-cloud); repeatable")
    command.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                         help="a template parameter (value read as YAML); repeatable")
    command.add_argument("--cloud", default=os.environ.get("OS_CLOUD"), help="clouds.yaml entry; env OS_CLOUD")
    command.add_argument("--settings", type=Path, default=os.environ.get("VMHA_SETTINGS_FILE") or None,
                         help="the gateway's settings file, for api.webhook_secret; env VMHA_SETTINGS_FILE")
    command.add_argument("--webhook-expires", default=DEFAULT_EXPIRY, metavar="WHEN",
                         help=f"with webhook_auth signed, expiry of the signed webhook URLs: a duration (default "
                              f"{DEFAULT_EXPIRY}, 12h), Unix time, ISO 8601 or never")
    command.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for Heat (default 600)")
    action = command.add_mutually_exclusive_group()
    action.add_argument("--validate", action="store_true", help="only ask Heat to validate the templates")
    action.add_argument("--delete", action="store_true", help="delete the stack instead")
    command.set_defaults(run=_run)
