"""``openstack vmha host list/add/remove/set``: a segment's hosts and their reserved/maintenance flags."""

from __future__ import annotations

import argparse
from typing import Any

import openstack
from osc_lib import exceptions
from osc_lib.command import command

from vmha.osc.client import vmha
from vmha.osc.segments import find, read, set_keys

COLUMNS = ("Host", "In Aggregate", "Reserved", "Maintenance", "Service Status", "Service State", "Forced Down",
           "Disabled Reason")


def _with(names: tuple[str, ...], host: str, present: bool) -> str:
    """The comma-separated list ``names`` with ``host`` in it or not."""
    kept = [name for name in names if name != host]
    return ",".join([*kept, host] if present else kept)


def _segment_and_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("segment", metavar="<segment>", help="segment name or id")
    parser.add_argument("host", metavar="<host>", help="compute host name")


def _flags(parser: argparse.ArgumentParser) -> None:
    reserved = parser.add_mutually_exclusive_group()
    reserved.add_argument("--reserved", dest="reserved", action="store_const", const=True,
                          help="a spare for the reserved-host methods (keep its nova-compute disabled)")
    reserved.add_argument("--no-reserved", dest="reserved", action="store_const", const=False, help="not a spare")
    maintenance = parser.add_mutually_exclusive_group()
    maintenance.add_argument("--maintenance", dest="maintenance", action="store_const", const=True,
                             help="under planned maintenance: its failures are ignored")
    maintenance.add_argument("--no-maintenance", dest="maintenance", action="store_const", const=False,
                             help="back from maintenance")


def _apply_flags(cloud: Any, aggregate: Any, host: str, parsed_args: argparse.Namespace) -> None:
    segment = read(aggregate)
    keys = {}
    if parsed_args.reserved is not None:
        keys["reserved_hosts"] = _with(segment.reserved_hosts, host, parsed_args.reserved)
    if parsed_args.maintenance is not None:
        keys["maintenance_hosts"] = _with(segment.maintenance_hosts, host, parsed_args.maintenance)
    if keys:
        set_keys(cloud, aggregate, keys)


class ListHost(command.Lister):
    """List a segment's hosts with their flags and nova-compute service state."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", help="segment name or id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        cloud = vmha(self).cloud
        segment = read(find(cloud, parsed_args.segment))
        services = {service.host: service for service in cloud.compute.services(binary="nova-compute")}
        rows = []
        for host in segment.members:
            service = services.get(host)
            state = (service.status, service.state, service.is_forced_down, service.disabled_reason) if service \
                else ("-", "-", "-", "no nova-compute service")
            rows.append((host, host in segment.hosts, host in segment.reserved_hosts,
                         host in segment.maintenance_hosts, *state))
        return COLUMNS, rows


class _FlaggedHostCommand(command.Command):
    """A command on one host of a segment taking --reserved and --maintenance."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _segment_and_host(parser)
        _flags(parser)
        return parser


class AddHost(_FlaggedHostCommand):
    """Add a compute host to a segment."""

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        cloud = vmha(self).cloud
        aggregate = find(cloud, parsed_args.segment)
        if parsed_args.host not in (aggregate.hosts or ()):
            try:
                aggregate = cloud.compute.add_host_to_aggregate(aggregate, parsed_args.host)
            except openstack.exceptions.HttpException as error:
                raise exceptions.CommandError(f"Nova refused {parsed_args.host}: {error.details or error}") from error
        _apply_flags(cloud, aggregate, parsed_args.host, parsed_args)


class RemoveHost(command.Command):
    """Remove a compute host from a segment (and from its reserved and maintenance lists)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _segment_and_host(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        cloud = vmha(self).cloud
        aggregate = find(cloud, parsed_args.segment)
        host = parsed_args.host
        segment = read(aggregate)
        if host not in segment.members:
            raise exceptions.CommandError(f"{host} is not in segment {segment.name}")
        if host in segment.hosts:
            aggregate = cloud.compute.remove_host_from_aggregate(aggregate, host)
        set_keys(cloud, aggregate, {"reserved_hosts": _with(segment.reserved_hosts, host, False),
                                    "maintenance_hosts": _with(segment.maintenance_hosts, host, False)})


class SetHost(_FlaggedHostCommand):
    """Mark a segment's host reserved (a spare) or under maintenance, or neither."""

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        cloud = vmha(self).cloud
        aggregate = find(cloud, parsed_args.segment)
        if parsed_args.host not in read(aggregate).members:
            raise exceptions.CommandError(f"{parsed_args.host} is not in segment {aggregate.name}")
        if parsed_args.reserved is None and parsed_args.maintenance is None:
            raise exceptions.CommandError("nothing to set: give --reserved/--no-reserved or "
                                          "--maintenance/--no-maintenance")
        _apply_flags(cloud, aggregate, parsed_args.host, parsed_args)
