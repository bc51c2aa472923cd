"""``openstack vmha segment capacity``, ``openstack vmha host failover-plan`` and ``openstack vmha report``:
whether segments absorb a host's loss, what a host's failure would do now, and how long recoveries took
against each segment's objective, from the gateway (``GET /v1/capacity``, ``/v1/hosts/{name}/failover-plan``,
``/v1/report``).

``host failover-plan`` exits 1 when the plan would not succeed, so a script can gate maintenance on it.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote, urlencode

from osc_lib.cli import format_columns
from osc_lib.command import command

from vmha.osc.client import vmha

CAPACITY_COLUMNS = ("Segment", "Recovery Method", "Failures", "Absorbs", "Lost Hosts", "Target Hosts",
                    "Headroom VCPU", "Headroom MEMORY_MB", "Headroom DISK_GB", "Unplaced Servers")
PLAN_COLUMNS = ("Host", "Segment", "Recovery Method", "Fencing", "Succeeds", "Moves", "Left", "Checks",
                "Past Recoveries")
REPORT_COLUMNS = ("Segment", "Objective (s)", "Recoveries", "Met", "Median Fenced (s)", "Median First Active (s)",
                  "Median All Active (s)")


def _query(path: str, **values: Any) -> str:
    given = {key: value for key, value in values.items() if value is not None}
    return f"{path}?{urlencode(given)}" if given else path


class SegmentCapacity(command.Lister):
    """Say whether each segment can absorb the loss of its largest hosts (Placement's inventories and usages)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("segment", metavar="<segment>", nargs="?", help="one segment (default: every one)")
        parser.add_argument("--failures", type=int, default=1, metavar="<n>",
                            help="how many hosts are lost at once, those with most to move (default 1)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        found = vmha(self).request("GET", _query("capacity", segment=parsed_args.segment,
                                                 failures=parsed_args.failures))["capacity"]
        return CAPACITY_COLUMNS, [
            (item["segment"], item["recovery_method"], item["failures"], item["absorbs"],
             format_columns.ListColumn(item["lost_hosts"]), format_columns.ListColumn(item["target_hosts"]),
             *(round(item["headroom"][kind], 1) for kind in ("VCPU", "MEMORY_MB", "DISK_GB")),
             format_columns.ListColumn(item["unplaced_servers"])) for item in found]


class HostFailoverPlan(command.ShowOne):
    """Show what the host's failure would do now, changing nothing; exit 1 when it would not succeed."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("host", metavar="<host>", help="a compute host of a segment")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        plan = vmha(self).request("GET", f"hosts/{quote(parsed_args.host, safe='')}/failover-plan")["failover_plan"]
        self._succeeds = bool(plan["succeeds"])
        past = plan["past_recoveries"]
        return PLAN_COLUMNS, (
            plan["host"], plan["segment"], plan["recovery_method"], plan["fencing"], plan["succeeds"],
            format_columns.ListColumn([f"{move['name']} -> {move['target'] or 'no room'}" for move in plan["moves"]]),
            format_columns.ListColumn([f"{left['name']}: {left['reason']}" for left in plan["left"]]),
            format_columns.ListColumn([f"{'ok' if check['ok'] else 'FAILS'} {check['name']}: {check['detail']}"
                                       for check in plan["checks"]]),
            "none" if past is None else f"{past['count']}, median {past['median_seconds']:.1f} s, longest "
                                        f"{past['longest_seconds']:.1f} s")

    def run(self, parsed_args: argparse.Namespace) -> int:
        shown = super().run(parsed_args)
        return shown or (0 if self._succeeds else 1)


class Report(command.Lister):
    """Report the host recoveries per segment against its recovery time objective (vmha:rto_seconds)."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--segment", metavar="<segment>", help="one segment (default: every one)")
        parser.add_argument("--since", metavar="<time>", help="failures since this ISO 8601 time")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        found = vmha(self).request("GET", _query("report", segment=parsed_args.segment,
                                                 since=parsed_args.since))["report"]

        def median(item: dict[str, Any], phase: str) -> float | None:
            took = item["median_seconds"][phase]
            return None if took is None else round(took, 1)
        return REPORT_COLUMNS, [
            (item["segment"], item["objective_seconds"], item["recoveries"], item["met"], median(item, "fenced"),
             median(item, "first_active"), median(item, "all_active")) for item in found]
