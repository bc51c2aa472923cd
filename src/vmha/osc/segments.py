"""``openstack vmha segment list/show/create/set/delete``: failover segments as Nova host aggregates."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import openstack
from osc_lib import exceptions
from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.cloud.segments import PREFIX, Fencing, Segment, SegmentError, parse_segment
from vmha.contracts import RecoveryMethod
from vmha.osc.client import vmha

COLUMNS = ("ID", "Name", "Enabled", "Recovery Method", "Hosts", "Reserved Hosts", "Maintenance Hosts", "Fencing")


def is_segment(aggregate: Any) -> bool:
    """Whether an aggregate is a vmha segment (at least one ``vmha:`` key)."""
    return any(key.startswith(PREFIX) for key in aggregate.metadata or {})


def read(aggregate: Any) -> Segment:
    """The segment an aggregate describes; CommandError if its metadata is invalid."""
    try:
        return parse_segment(aggregate.name, tuple(aggregate.hosts or ()), aggregate.metadata or {})
    except SegmentError as error:
        raise exceptions.CommandError(str(error)) from error


def find(cloud: Any, name_or_id: str) -> Any:
    """The segment's aggregate by name or id; CommandError if there is none."""
    for aggregate in cloud.compute.aggregates():
        if name_or_id in (aggregate.name, str(aggregate.id)) and is_segment(aggregate):
            return aggregate
    raise exceptions.CommandError(f"no vmha segment {name_or_id}")


def row(aggregate: Any) -> tuple[Any, ...]:
    segment = read(aggregate)
    return (str(aggregate.id), segment.name, segment.enabled, segment.recovery_method.value,
            format_columns.ListColumn(list(segment.hosts)), format_columns.ListColumn(list(segment.reserved_hosts)),
            format_columns.ListColumn(list(segment.maintenance_hosts)), segment.fencing.value)


def set_keys(cloud: Any, aggregate: Any, keys: Mapping[str, str]) -> Any:
    """Write ``vmha:`` keys (given without the prefix); CommandError with Nova's reason."""
    try:
        return cloud.compute.set_aggregate_metadata(aggregate, {PREFIX + key: value for key, value in keys.items()})
    except openstack.exceptions.HttpException as error:
        raise exceptions.CommandError(f"Nova refused: {error.details or error}") from error


class ListSegment(command.Lister):
    """List the vmha failover segments."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        cloud = vmha(self).cloud
        return COLUMNS, [row(aggregate) for aggregate in cloud.compute.aggregates() if is_segment(aggregate)]


class ShowSegment(command.ShowOne):
    """Show one vmha failover segment."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", help="segment name or id")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        return COLUMNS, row(find(vmha(self).cloud, parsed_args.segment))


def _options(parser: argparse.ArgumentParser, creating: bool) -> None:
    parser.add_argument("--recovery-method", choices=[method.value for method in RecoveryMethod],
                        default="auto" if creating else None, help="how failed hosts' servers are recovered")
    parser.add_argument("--fencing", choices=[item.value for item in Fencing], default=None,
                        help="required (the default): evacuate only hosts their BMC powered off; "
                        "disabled: evacuate without proof that the host is dead")
    enabled = parser.add_mutually_exclusive_group()
    enabled.add_argument("--enable", dest="enabled", action="store_const", const="true", help="recover failures")
    enabled.add_argument("--disable", dest="enabled", action="store_const", const="false",
                         help="record failures but recover nothing")


def _changes(parsed_args: argparse.Namespace) -> dict[str, str]:
    changes = {"recovery_method": parsed_args.recovery_method, "fencing": parsed_args.fencing,
               "enabled": parsed_args.enabled}
    return {key: value for key, value in changes.items() if value is not None}


class CreateSegment(command.ShowOne):
    """Create a vmha failover segment (a host aggregate with vmha: keys)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>", help="segment name (the aggregate's name)")
        parser.add_argument("--host", action="append", default=[], help="a compute host to protect; repeatable")
        _options(parser, creating=True)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        cloud = vmha(self).cloud
        if cloud.compute.find_aggregate(parsed_args.name) is not None:
            raise exceptions.CommandError(f"an aggregate named {parsed_args.name} exists already")
        aggregate = cloud.compute.create_aggregate(name=parsed_args.name)
        try:
            for host in parsed_args.host:
                cloud.compute.add_host_to_aggregate(aggregate, host)
            set_keys(cloud, aggregate, {"enabled": "true", "fencing": Fencing.REQUIRED.value, **_changes(parsed_args)})
        except (openstack.exceptions.HttpException, exceptions.CommandError) as error:
            _delete(cloud, cloud.compute.get_aggregate(aggregate))
            raise exceptions.CommandError(f"segment {parsed_args.name} not created: {error}") from error
        return COLUMNS, row(cloud.compute.get_aggregate(aggregate))


class SetSegment(command.Command):
    """Change a vmha failover segment's recovery method, fencing or enabled flag."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", help="segment name or id")
        _options(parser, creating=False)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        cloud = vmha(self).cloud
        changes = _changes(parsed_args)
        if not changes:
            raise exceptions.CommandError("nothing to set: give --recovery-method, --fencing, --enable or --disable")
        set_keys(cloud, find(cloud, parsed_args.segment), changes)


class DeleteSegment(command.Command):
    """Delete vmha failover segments (their aggregates; the hosts themselves are untouched)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segments", metavar="<segment>", nargs="+", help="segment names or ids")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        cloud = vmha(self).cloud
        for name in parsed_args.segments:
            _delete(cloud, find(cloud, name))


def _delete(cloud: Any, aggregate: Any) -> None:
    for host in aggregate.hosts or ():
        cloud.compute.remove_host_from_aggregate(aggregate, host)
    cloud.compute.delete_aggregate(aggregate)
