"""``openstack vmha notification list/show/create`` and ``notification vmove list/show``: recoveries through
the gateway's Masakari API. ``create`` reports a failure as a monitor does (``POST /v1/notifications``: the
gateway admits it or says why not); ``show`` has the recovery's steps and their progress (microversion 1.1's
``recovery_workflow_details``) and, for a host failure, the servers it moved (1.3's vmoves)."""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import UTC, datetime
from typing import Any

from osc_lib import exceptions
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.contracts import FailureType
from vmha.osc.client import calling, vmha

STATUSES = ("new", "running", "finished", "failed", "ignored", "error")
LIST_COLUMNS = ("ID", "Type", "Host", "Status", "Generated Time")
SHOW_COLUMNS = ("ID", "Type", "Host", "Status", "Message", "Segment", "Recovery Method", "Generated Time",
                "Created At", "Updated At", "Payload", "Steps", "Events", "Instances")
VMOVE_COLUMNS = ("ID", "Server", "Source Host", "Dest Host", "Status", "Type", "Start Time", "End Time", "Message")


def _host_id(ha: Any, name: str) -> str:
    """The id of the host called ``name`` in any segment; CommandError if no segment has it."""
    with calling():
        for segment in ha.segments():
            for host in ha.hosts(segment.id):
                if name in (host.name, host.id):
                    return str(host.id)
    raise exceptions.CommandError(f"no segment has a host {name}")


class ListNotification(command.Lister):
    """List notifications, newest first."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--status", action="append", default=[], choices=STATUSES, help="only these; repeatable")
        parser.add_argument("--type", choices=[kind.value for kind in FailureType], default=None, help="only these")
        parser.add_argument("--host", default=None, help="only notifications about this host (name or id)")
        parser.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        if not 1 <= parsed_args.limit <= 1000:
            raise exceptions.CommandError("--limit must be within 1..1000")
        ha = vmha(self).ha
        query: dict[str, Any] = {"limit": min(parsed_args.limit, 100)}
        if parsed_args.status:
            query["status"] = ",".join(parsed_args.status)
        if parsed_args.type:
            query["type"] = parsed_args.type
        if parsed_args.host:
            query["source_host_uuid"] = _host_id(ha, parsed_args.host)
        with calling():
            found = list(itertools.islice(ha.notifications(**query), parsed_args.limit))
        return LIST_COLUMNS, [(item.id, item.type, item.hostname, item.status, item.generated_time) for item in found]


class ShowNotification(command.ShowOne):
    """Show a notification with its recovery's steps, their progress and the servers it moved."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("notification", metavar="<notification-id>", help="notification id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        client = vmha(self)
        shown = client.request("GET", f"notifications/{parsed_args.notification}")["notification"]
        details = shown.get("recovery_workflow_details") or []
        steps = [{"step": step["name"], "state": step["state"], "progress": step["progress"]} for step in details]
        events = [{"at": event["timestamp"], "step": step["name"], "message": event["message"]}
                  for step in details for event in step["progress_details"]]
        moved: list[Any] = []
        if shown["type"] == FailureType.COMPUTE_HOST.value:
            with calling():
                moved = list(client.ha.vmoves(shown["id"]))
        instances = [{"server": vmove.server_id, "status": vmove.status, "source_host": vmove.source_host,
                      "dest_host": vmove.dest_host, "message": vmove.message} for vmove in moved]
        return SHOW_COLUMNS, (
            shown["id"], shown["type"], shown["hostname"], shown["status"], shown.get("message"),
            shown.get("failover_segment_name"), shown.get("recovery_method"), shown["generated_time"],
            shown["created_at"], shown["updated_at"], format_columns.DictColumn(shown["payload"]),
            format_columns.ListDictColumn(steps), format_columns.ListDictColumn(events),
            format_columns.ListDictColumn(instances))


class CreateNotification(command.ShowOne):
    """Report a failure to the gateway, as a monitor does."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("type", metavar="<type>", choices=[kind.value for kind in FailureType],
                            help="COMPUTE_HOST, VM or PROCESS")
        parser.add_argument("hostname", metavar="<hostname>", help="the host the failure is on")
        parser.add_argument("payload", metavar="<payload>", help='the payload as JSON, e.g. \'{"event": "STOPPED", '
                                                                  '"host_status": "NORMAL"}\'')
        parser.add_argument("--generated-time", default=None, help="ISO 8601 time of the failure (default: now)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        try:
            payload = json.loads(parsed_args.payload)
        except ValueError as error:
            raise exceptions.CommandError(f"the payload is not JSON: {error}") from error
        ha = vmha(self).ha
        with calling():
            created = ha.create_notification(type=parsed_args.type, hostname=parsed_args.hostname, payload=payload,
                                             generated_time=parsed_args.generated_time or
                                             datetime.now(UTC).isoformat())
        return ("ID", "Type", "Host", "Status", "Generated Time", "Payload"), (
            created.id, created.type, created.hostname, created.status, created.generated_time,
            format_columns.DictColumn(created.payload))


def _vmove_row(vmove: Any) -> tuple[Any, ...]:
    return (vmove.id, vmove.server_id, vmove.source_host, vmove.dest_host, vmove.status, vmove.type,
            vmove.start_time, vmove.end_time, vmove.message)


class ListVMove(command.Lister):
    """List the servers a host recovery moved."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("notification", metavar="<notification-id>", help="a COMPUTE_HOST notification's id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        ha = vmha(self).ha
        with calling():
            moved = list(ha.vmoves(parsed_args.notification))
        return VMOVE_COLUMNS, [_vmove_row(vmove) for vmove in moved]


class ShowVMove(command.ShowOne):
    """Show one server a host recovery moved."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("notification", metavar="<notification-id>", help="a COMPUTE_HOST notification's id")
        parser.add_argument("vmove", metavar="<vmove-id>", help="the vmove's id (its server's id)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        ha = vmha(self).ha
        with calling():
            vmove = ha.get_vmove(parsed_args.vmove, parsed_args.notification)
        return VMOVE_COLUMNS, _vmove_row(vmove)
