"""``openstack vmha function list/invoke`` and ``openstack vmha flow show``: the step table, as data.

``function invoke`` runs the function's Lambda-style handler in this process, with the journal and the OSC
connection as its context, and prints the outcome: what the gateway's invoke API does remotely. Intake
records the notification it is given; steps read and write the journal of the notification they name.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from osc_lib import exceptions
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.context import RunContext, new_request_id, notification_of
from vmha.contracts import ContractError, FailureType, RecoveryMethod, parse_notification, parse_step_message
from vmha.functions import STEPS, custom_flows, resolve_flow
from vmha.functions.handler import intake_handler, step_handler
from vmha.journal import utc_now
from vmha.osc.client import VmhaClient, vmha

INTAKE = "intake"
FUNCTION_COLUMNS = ("Name", "Queue", "Per Instance", "Join", "Timeout", "Retry")


def _function_rows() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [(INTAKE, "notifications", False, False, "-", "settings")]
    for spec in STEPS.values():
        retry = "settings" if spec.retry is None else "polling (retry.recheck_interval_seconds)"
        rows.append((spec.id, "steps", spec.per_instance, spec.join, spec.timeout_seconds, retry))
    return rows


class ListFunction(command.Lister):
    """List the functions: intake and every recovery step."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        return FUNCTION_COLUMNS, _function_rows()


def _event(text: str) -> Mapping[str, Any]:
    """The event given inline as JSON, or as @FILE."""
    try:
        raw = Path(text[1:]).read_text() if text.startswith("@") else text
        event = json.loads(raw)
    except (OSError, ValueError) as error:
        raise exceptions.CommandError(f"cannot read the event: {error}") from error
    if not isinstance(event, dict):
        raise exceptions.CommandError("the event must be a JSON object")
    return event


def _context(client: VmhaClient, name: str, event: Mapping[str, Any]) -> RunContext:
    """The context a run of ``name`` gets, for the notification the event is or names."""
    settings = client.settings
    try:
        if name == INTAKE:
            notification = parse_notification(event)
        else:
            message = parse_step_message(event)
            detail = client.journal.get_notification(str(message.notification_id))
            if detail is None:
                raise exceptions.CommandError(f"no notification {message.notification_id} in the journal")
            notification = notification_of(detail.notification)
    except ContractError as error:
        raise exceptions.CommandError(f"invalid event for {name}: {error}") from error
    now = utc_now()
    return RunContext(new_request_id(), notification, settings, client.journal, client.cloud, utc_now,
                      now + timedelta(seconds=settings.ceilings.notification_seconds))


class InvokeFunction(command.ShowOne):
    """Run one function's handler on an event and show its outcome."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<function>", help="intake or a step name (see function list)")
        parser.add_argument("event", metavar="<event>", help="the event as JSON, or @FILE: a notification for "
                                                             "intake, a step message for a step")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        name = parsed_args.name
        if name != INTAKE and name not in STEPS:
            raise exceptions.CommandError(f"no function {name}; see `openstack vmha function list`")
        event = _event(parsed_args.event)
        context = _context(vmha(self), name, event)
        handler = intake_handler if name == INTAKE else step_handler(name)
        result = handler(event, context)
        return ("Function", "Request ID", "Outcome", "Result"), (
            name, context.request_id, result["outcome"],
            format_columns.DictColumn({key: value for key, value in result.items() if key != "outcome"}))


class ShowFlow(command.Lister):
    """Show the steps a failure type runs (for COMPUTE_HOST: per recovery method), operators' flows included."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("type", metavar="<type>", choices=[kind.value for kind in FailureType],
                            help="COMPUTE_HOST, VM or PROCESS")
        parser.add_argument("--recovery-method", choices=[method.value for method in RecoveryMethod],
                            default=None, help="COMPUTE_HOST only (default auto)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        kind = FailureType(parsed_args.type)
        method = RecoveryMethod(parsed_args.recovery_method) if parsed_args.recovery_method else None
        if method is not None and kind is not FailureType.COMPUTE_HOST:
            raise exceptions.CommandError("--recovery-method applies to COMPUTE_HOST only")
        steps = resolve_flow(kind, method, custom_flows(vmha(self).settings))
        rows = [(position, step, STEPS[step].per_instance, STEPS[step].join, STEPS[step].timeout_seconds)
                for position, step in enumerate(steps, start=1)]
        return ("Position", "Step", "Per Instance", "Join", "Timeout"), rows
