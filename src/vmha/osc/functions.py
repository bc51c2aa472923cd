"""``openstack vmha function list/invoke`` and ``flow show``: the gateway's functions (intake and every recovery
step) and the flows they run in.

``function invoke`` runs one on the gateway (``POST /v1/functions/{name}/executions``, synchronously: the
execution the Lambda Invoke route would make, authenticated with the OSC session's Keystone token) and
prints the recorded execution with the function's output.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from osc_lib import exceptions
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.contracts import FailureType, RecoveryMethod
from vmha.osc.client import vmha

FUNCTION_COLUMNS = ("Name", "Kind", "Per Instance", "Timeout")


class ListFunction(command.Lister):
    """List the gateway's functions: intake and every recovery step."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        listed = vmha(self).request("GET", "functions")["functions"]
        return FUNCTION_COLUMNS, [(item["name"], item["kind"], item["per_instance"], item["timeout_seconds"])
                                  for item in listed]


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


class InvokeFunction(command.ShowOne):
    """Run one function on the gateway with an event and show its execution."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<function>", help="intake or a step name (see function list)")
        parser.add_argument("event", metavar="<event>", help="the event as JSON, or @FILE: a notification for "
                                                             "intake, a step message for a step")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        event = _event(parsed_args.event)
        ran = vmha(self).request("POST", f"functions/{parsed_args.name}/executions", {"input": event, "sync": True})
        result = ran.get("result") or {}
        return ("Function", "Execution ID", "Status", "Duration", "Output"), (
            ran["function_name"], ran["id"], ran["status"], result.get("duration"),
            format_columns.DictColumn(result.get("output") or {}))


class ShowFlow(command.Lister):
    """Show the steps a failure type runs on the gateway (for COMPUTE_HOST: per recovery method), operators'
    flows and their own steps (kind entry_point or webhook, on_failure ones last) included."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("type", metavar="<type>", choices=[kind.value for kind in FailureType],
                            help="COMPUTE_HOST, VM or PROCESS")
        parser.add_argument("--recovery-method", choices=[method.value for method in RecoveryMethod],
                            default=None, help="COMPUTE_HOST only (default auto)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        query = f"?{urlencode({'recovery_method': parsed_args.recovery_method})}" if parsed_args.recovery_method \
            else ""
        flow = vmha(self).request("GET", f"flows/{parsed_args.type}{query}")["flow"]
        rows = [(step["position"], step["name"], step["kind"], step["per_instance"], step["timeout_seconds"])
                for step in flow["steps"]]
        rows += [("on failure", step["name"], step["kind"], step["per_instance"], step["timeout_seconds"])
                 for step in flow.get("on_failure", ())]
        return ("Position", "Step", "Kind", "Per Instance", "Timeout"), rows
