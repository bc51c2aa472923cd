"""``openstack vmha notification list/show/create``: recoveries from the journal; create posts a failure
report to the notifications queue as a monitor would (the gateway's Masakari API will be the other way)."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from osc_lib import exceptions
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.commands.status import flow_of, fraction
from vmha.contracts import ContractError, FailureType, parse_notification
from vmha.journal import NotificationDetail, NotificationFilter, NotificationRecord, NotificationStatus
from vmha.osc.client import VmhaClient, vmha

LIST_COLUMNS = ("ID", "Type", "Host", "Status", "Segment", "Generated Time", "Progress")
SHOW_COLUMNS = ("ID", "Type", "Host", "Status", "Status Reason", "Segment", "Recovery Method", "Generated Time",
                "Created At", "Payload", "Progress", "Steps", "Instances", "Events")
MESSAGE_TTL_SECONDS = 86400


def _percent(client: VmhaClient, detail: NotificationDetail) -> str:
    return f"{fraction(detail, flow_of(detail, client.settings)) * 100:.0f}%"


def _detail(client: VmhaClient, notification_id: str) -> NotificationDetail:
    detail = client.journal.get_notification(notification_id)
    if detail is None:
        raise exceptions.CommandError(f"no notification {notification_id} in the journal")
    return detail


class ListNotification(command.Lister):
    """List notifications from the journal, newest first."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--status", action="append", default=[],
                            choices=[status.value for status in NotificationStatus], help="only these; repeatable")
        parser.add_argument("--host", default=None, help="only notifications about this host")
        parser.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        client = vmha(self)
        if not 1 <= parsed_args.limit <= 1000:
            raise exceptions.CommandError("--limit must be within 1..1000")
        filters = NotificationFilter(statuses=frozenset(NotificationStatus(s) for s in parsed_args.status),
                                     hostname=parsed_args.host)
        rows = []
        for record in client.journal.list_notifications(filters, limit=parsed_args.limit):
            rows.append((record.id, record.type, record.hostname, record.status.value, record.segment,
                         record.generated_time.isoformat(), _percent(client, _detail(client, record.id))))
        return LIST_COLUMNS, rows


class ShowNotification(command.ShowOne):
    """Show a notification with its per-step and per-instance progress."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("notification", metavar="<notification-id>", help="notification id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        client = vmha(self)
        detail = _detail(client, parsed_args.notification)
        record: NotificationRecord = detail.notification
        steps = [{"step": run.key.step_id, "instance": run.key.instance_uuid, "status": run.status.value,
                  "attempts": run.attempts, "error": run.error} for run in detail.steps]
        instances = [{"instance": item.instance_uuid, "status": item.status.value, "source_host": item.source_host,
                      "dest_host": item.dest_host, "message": item.message} for item in detail.instances]
        events = [{"at": event.at.isoformat(), "step": event.step_id, "instance": event.instance_uuid,
                   "message": event.message} for event in detail.events]
        return SHOW_COLUMNS, (
            record.id, record.type, record.hostname, record.status.value, record.status_reason, record.segment,
            record.recovery_method, record.generated_time.isoformat(), record.created_at.isoformat(),
            format_columns.DictColumn(dict(record.payload)), _percent(client, detail),
            format_columns.ListDictColumn(steps), format_columns.ListDictColumn(instances),
            format_columns.ListDictColumn(events))


class CreateNotification(command.ShowOne):
    """Report a failure: post a notification to vmha's notifications queue, as a monitor does."""

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
        client = vmha(self)
        try:
            payload = json.loads(parsed_args.payload)
            notification = parse_notification({
                "id": str(uuid.uuid4()), "source": "openstack-vmha", "type": parsed_args.type,
                "hostname": parsed_args.hostname, "payload": payload,
                "generated_time": parsed_args.generated_time or datetime.now(UTC).isoformat()})
        except (ValueError, ContractError) as error:
            raise exceptions.CommandError(f"invalid notification: {error}") from error
        queue = client.settings.queues.notifications
        client.post(queue, notification.to_dict(), ttl=MESSAGE_TTL_SECONDS)
        return ("ID", "Type", "Host", "Generated Time", "Payload", "Queue"), (
            str(notification.id), notification.type.value, notification.hostname,
            notification.generated_time.isoformat(), format_columns.DictColumn(payload), queue)
