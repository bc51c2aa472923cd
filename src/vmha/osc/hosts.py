"""``openstack vmha host list/add/remove/set``: a segment's hosts and their reserved/maintenance flags,
through the gateway's Masakari API (openstacksdk's ``instance_ha``)."""

from __future__ import annotations

import argparse
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from vmha.osc.client import calling, vmha
from vmha.osc.segments import CONTROL_ATTRIBUTES, SERVICE_TYPE, find

COLUMNS = ("ID", "Host", "Type", "Control Attributes", "Reserved", "Maintenance")


def _segment_and_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("segment", metavar="<segment>", help="segment name or id")
    parser.add_argument("host", metavar="<host>", help="compute host name (or the host's id)")


def _flags(parser: argparse.ArgumentParser) -> None:
    reserved = parser.add_mutually_exclusive_group()
    reserved.add_argument("--reserved", dest="reserved", action="store_const", const=True,
                          help="a spare for the reserved-host methods (keep its nova-compute disabled)")
    reserved.add_argument("--no-reserved", dest="reserved", action="store_const", const=False, help="not a spare")
    maintenance = parser.add_mutually_exclusive_group()
    maintenance.add_argument("--maintenance", dest="maintenance", action="store_const", const=True,
                             help="under planned maintenance: its failures are ignored")
    maintenance.add_argument("--no-maintenance", dest="maintenance", action="store_const", const=False,
                             help="back from maintenance (releases a host a recovery disabled)")


def _flag_changes(parsed_args: argparse.Namespace) -> dict[str, bool]:
    changes = {"reserved": parsed_args.reserved, "on_maintenance": parsed_args.maintenance}
    return {key: value for key, value in changes.items() if value is not None}


def _host(ha: Any, segment: Any, name_or_id: str) -> Any:
    with calling():
        for host in ha.hosts(segment.id):
            if name_or_id in (host.name, host.id):
                return host
    raise exceptions.CommandError(f"{name_or_id} is not in segment {segment.name}")


class ListHost(command.Lister):
    """List a segment's hosts with their flags."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", help="segment name or id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        ha = vmha(self).ha
        segment = find(ha, parsed_args.segment)
        with calling():
            hosts = list(ha.hosts(segment.id))
        return COLUMNS, [(host.id, host.name, host.type, host.control_attributes, host.reserved, host.on_maintenance)
                         for host in hosts]


class AddHost(command.Command):
    """Add a compute host to a segment."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _segment_and_host(parser)
        parser.add_argument("--type", default=SERVICE_TYPE, help=f"Masakari's host type (default {SERVICE_TYPE})")
        parser.add_argument("--control-attributes", default=CONTROL_ATTRIBUTES,
                            help=f"Masakari's control attributes (default {CONTROL_ATTRIBUTES})")
        _flags(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        ha = vmha(self).ha
        segment = find(ha, parsed_args.segment)
        with calling():
            ha.create_host(segment.id, name=parsed_args.host, type=parsed_args.type,
                           control_attributes=parsed_args.control_attributes, **_flag_changes(parsed_args))


class RemoveHost(command.Command):
    """Remove a compute host from a segment."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _segment_and_host(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        ha = vmha(self).ha
        segment = find(ha, parsed_args.segment)
        host = _host(ha, segment, parsed_args.host)
        with calling():
            ha.delete_host(host.id, segment.id)


class SetHost(command.Command):
    """Mark a segment's host reserved (a spare) or under maintenance, or neither."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _segment_and_host(parser)
        _flags(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        ha = vmha(self).ha
        changes = _flag_changes(parsed_args)
        if not changes:
            raise exceptions.CommandError("nothing to set: give --reserved/--no-reserved or "
                                          "--maintenance/--no-maintenance")
        segment = find(ha, parsed_args.segment)
        host = _host(ha, segment, parsed_args.host)
        with calling():
            ha.update_host(host.id, segment.id, **changes)
