"""``openstack vmha segment list/show/create/set/delete``: failover segments through the gateway's Masakari
API (openstacksdk's ``instance_ha``): the gateway keeps them as Nova host aggregates with ``vmha:`` keys and
refuses (409) changes to one a Heat stack made."""

from __future__ import annotations

import argparse
from typing import Any

from osc_lib import exceptions
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.cloud.segments import Fencing
from vmha.contracts import RecoveryMethod
from vmha.osc.client import VmhaClient, calling, vmha

COLUMNS = ("ID", "Name", "Enabled", "Recovery Method", "Service Type", "Description", "Hosts", "Reserved Hosts",
           "Maintenance Hosts", "Fencing")
SERVICE_TYPE = "COMPUTE"
CONTROL_ATTRIBUTES = "SSH"
"""Masakari's usual host type and control attributes (vmha records them and fences through the BMC)."""


def find(ha: Any, name_or_id: str) -> Any:
    """The segment by name or id; CommandError if there is none."""
    with calling():
        for segment in ha.segments():
            if name_or_id in (segment.name, segment.id):
                return segment
    raise exceptions.CommandError(f"no vmha segment {name_or_id}")


def row(client: VmhaClient, segment: Any) -> tuple[Any, ...]:
    with calling():
        hosts = list(client.ha.hosts(segment.id))
    fencing = client.request("GET", f"segments/{segment.id}/fencing")["fencing"]
    return (segment.id, segment.name, segment.is_enabled, segment.recovery_method, segment.service_type,
            segment.description, format_columns.ListColumn([host.name for host in hosts]),
            format_columns.ListColumn([host.name for host in hosts if host.reserved]),
            format_columns.ListColumn([host.name for host in hosts if host.on_maintenance]), fencing)


def set_fencing(client: VmhaClient, segment: Any, fencing: str) -> None:
    client.request("PUT", f"segments/{segment.id}/fencing", {"fencing": fencing})


class ListSegment(command.Lister):
    """List the vmha failover segments."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        client = vmha(self)
        with calling():
            segments = list(client.ha.segments())
        return COLUMNS, [row(client, segment) for segment in segments]


class ShowSegment(command.ShowOne):
    """Show one vmha failover segment with its hosts."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", help="segment name or id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        client = vmha(self)
        return COLUMNS, row(client, find(client.ha, parsed_args.segment))


def _options(parser: argparse.ArgumentParser, creating: bool) -> None:
    parser.add_argument("--recovery-method", choices=[method.value for method in RecoveryMethod],
                        default="auto" if creating else None, help="how failed hosts' servers are recovered")
    parser.add_argument("--description", default=None, help="free text")
    parser.add_argument("--fencing", choices=[choice.value for choice in Fencing], default=None,
                        help="required (the default): evacuate only hosts their BMC powered off; "
                        "required_or_self_fence: or hosts that fenced themselves; disabled: evacuate without proof "
                        "that the host is dead")
    enabled = parser.add_mutually_exclusive_group()
    enabled.add_argument("--enable", dest="enabled", action="store_const", const=True, help="recover failures")
    enabled.add_argument("--disable", dest="enabled", action="store_const", const=False,
                         help="record failures but recover nothing")


def _changes(parsed_args: argparse.Namespace) -> dict[str, Any]:
    changes = {"recovery_method": parsed_args.recovery_method, "description": parsed_args.description,
               "is_enabled": parsed_args.enabled}
    return {key: value for key, value in changes.items() if value is not None}


class CreateSegment(command.ShowOne):
    """Create a vmha failover segment, with its hosts; nothing is left of it when a host is refused."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="segment name (the aggregate's name)")
        parser.add_argument("--host", action="append", default=[], help="a compute host to protect; repeatable")
        _options(parser, creating=True)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        client = vmha(self)
        ha = client.ha
        with calling():
            segment = ha.create_segment(name=parsed_args.name, service_type=SERVICE_TYPE, **_changes(parsed_args))
        try:
            if parsed_args.fencing:
                set_fencing(client, segment, parsed_args.fencing)
            with calling():
                for host in parsed_args.host:
                    ha.create_host(segment.id, name=host, type=SERVICE_TYPE, control_attributes=CONTROL_ATTRIBUTES)
        except exceptions.CommandError as error:
            with calling():
                ha.delete_segment(segment.id)
            raise exceptions.CommandError(f"segment {parsed_args.name} not created: {error}") from error
        with calling():
            segment = ha.get_segment(segment.id)
        return COLUMNS, row(client, segment)


class SetSegment(command.Command):
    """Change a vmha failover segment's recovery method, description, fencing or enabled flag."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", help="segment name or id")
        _options(parser, creating=False)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        client = vmha(self)
        changes = _changes(parsed_args)
        if not changes and not parsed_args.fencing:
            raise exceptions.CommandError("nothing to set: give --recovery-method, --description, --fencing, "
                                          "--enable or --disable")
        segment = find(client.ha, parsed_args.segment)
        if changes:
            with calling():
                client.ha.update_segment(segment.id, **changes)
        if parsed_args.fencing:
            set_fencing(client, segment, parsed_args.fencing)


class DeleteSegment(command.Command):
    """Delete vmha failover segments (their aggregates; the hosts themselves are untouched)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segments", metavar="<segment>", nargs="+", help="segment names or ids")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        ha = vmha(self).ha
        for name in parsed_args.segments:
            segment = find(ha, name)
            with calling():
                ha.delete_segment(segment.id)
