"""``vmha status``: the recent notifications and their recoveries from the journal, with progress bars.

Live (redrawn every ``--interval`` seconds) on a terminal; ``--once`` prints one snapshot. When stdout is
not a terminal the live view prints a new timestamped snapshot only when something changed. Above the
notifications, one line per segment says whether it absorbs the loss of its largest host (``vmha.capacity``,
read from Placement and Nova with the gateway's cloud at most once a minute; ``--no-capacity`` leaves it out).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

import openstack
from keystoneauth1 import exceptions as keystone_errors

from vmha.capacity import Verdict
from vmha.capacity.reading import verdicts
from vmha.cloud.segments import SegmentError, segments
from vmha.console import bar, is_tty
from vmha.contracts import FailureType, RecoveryMethod, Settings, load_settings
from vmha.functions import STEPS, custom_flows, resolve_flow
from vmha.journal import TERMINAL, Journal, NotificationDetail, StepStatus
from vmha.journal.records import FINAL_INSTANCE_STATUSES
from vmha.journal.upkeep import open_current
from vmha.refreshed import Refreshed

_DONE = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED})
_CLEAR = "\x1b[H\x1b[2J"
CAPACITY_REFRESH_SECONDS = 60.0


def flow_of(detail: NotificationDetail, settings: Settings) -> tuple[str, ...]:
    """The steps this notification's recovery runs (its type and recovery method, the operator's flows)."""
    record = detail.notification
    if not FailureType.names(record.type):  # vmha's own (a failback): servers, no steps
        return ()
    method = RecoveryMethod(record.recovery_method) if record.recovery_method else None
    return resolve_flow(FailureType(record.type), method, custom_flows(settings))


def per_instance_steps(settings: Settings) -> frozenset[str]:
    """The ids of the steps that run once per instance: built-in, and the operator's own of the custom flows file."""
    custom = custom_flows(settings)
    own = {step.id for step in custom.steps.values() if step.per_instance} if custom is not None else set()
    return frozenset({key for key, spec in STEPS.items() if spec.per_instance} | own)


def fraction(detail: NotificationDetail, flow: tuple[str, ...], per_instance: Collection[str]) -> float:
    """How much of the recovery is done: step runs ended over step runs expected (per instance for the steps of
    ``per_instance``)."""
    if detail.notification.status in TERMINAL:
        return 1.0
    instances = max(1, len(detail.instances))
    if not flow:
        return sum(item.status in FINAL_INSTANCE_STATUSES for item in detail.instances) / instances
    expected = sum(instances if step in per_instance else 1 for step in flow)
    done = sum(1 for run in detail.steps if run.status in _DONE and run.key.step_id in flow)
    return done / expected if expected else 0.0


def render(journal: Journal, settings: Settings, limit: int) -> list[str]:
    """The lines of one snapshot: a block per notification, newest first, instances indented below."""
    lines: list[str] = []
    for record in journal.list_notifications(limit=limit):
        detail = journal.get_notification(record.id)
        if detail is None:
            continue
        latest = detail.events[-1] if detail.events else None
        now = f"{latest.step_id}: {latest.message}" if latest else ""
        if record.status in TERMINAL and record.status_reason:
            now = record.status_reason
        progress = bar(fraction(detail, flow_of(detail, settings), per_instance_steps(settings)))
        lines.append(f"{record.id[:8]}  {record.type:<12}  {record.hostname:<12}  {record.status.value:<8}  "
                     f"{progress}  {now}")
        for item in detail.instances:
            target = f" -> {item.dest_host}" if item.dest_host else ""
            lines.append(f"    instance {item.instance_uuid[:8]}  {item.source_host or '?'}{target}  "
                         f"{item.status.value}{'  ' + item.message if item.message else ''}")
    return lines or ["no notifications"]


def verdict_line(verdict: Verdict) -> str:
    """One segment's capacity, as the status view shows it."""
    lost = ", ".join(verdict.lost) or "no host"
    if verdict.absorbs:
        room = ", ".join(f"{kind} {amount:g}" for kind, amount in verdict.headroom.items())
        return f"segment {verdict.segment}: absorbs the loss of {lost} (left after it: {room})"
    return (f"segment {verdict.segment}: CANNOT absorb the loss of {lost}: no room for "
            f"{', '.join(verdict.unplaced)}")


def capacity_lines(settings: Settings) -> list[str]:
    """One line per segment, read with the gateway's cloud; one line saying why when it cannot be read."""
    try:
        cloud = openstack.connect(cloud=settings.gateway.cloud or None, api_timeout=settings.timeouts.openstack_seconds)
        return [verdict_line(verdict) for verdict in verdicts(cloud, settings, segments(cloud))]
    except (openstack.exceptions.SDKException, keystone_errors.ClientException, SegmentError) as error:
        return [f"capacity unknown: {error}"]


def _run(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings)
    capacity: Callable[[], list[str]] = ((lambda: []) if args.no_capacity
                                         else Refreshed(lambda: capacity_lines(settings), CAPACITY_REFRESH_SECONDS))
    with open_current(args.journal_url or settings.journal_url) as journal:
        if args.once:
            print("\n".join([*capacity(), *render(journal, settings, args.limit)]))
            return 0
        _live(journal, settings, args.limit, args.interval, capacity)
    return 0


def _live(journal: Journal, settings: Settings, limit: int, interval: float,
          capacity: Callable[[], list[str]]) -> None:
    tty, shown = is_tty(sys.stdout), None
    try:
        while True:
            lines = [*capacity(), *render(journal, settings, limit)]
            if lines != shown:
                stamp = datetime.now().strftime("%H:%M:%S")
                sys.stdout.write((_CLEAR if tty else "") + f"-- vmha status {stamp}\n" + "\n".join(lines) + "\n")
                sys.stdout.flush()
                shown = lines
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("status", help="live view of notifications and recoveries (from the journal)",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--settings", type=Path, default=os.environ.get("VMHA_SETTINGS_FILE") or None,
                         help="settings file (its journal_url); env VMHA_SETTINGS_FILE")
    command.add_argument("--journal-url", default=None, help="the journal to read (default: the settings')")
    command.add_argument("--once", action="store_true", help="print one snapshot and exit")
    command.add_argument("--limit", type=int, default=10, help="how many notifications, newest first (default 10)")
    command.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes (default 1)")
    command.add_argument("--no-capacity", action="store_true",
                         help="leave out whether each segment absorbs the loss of its largest host (read from "
                              "Placement and Nova with gateway.cloud's credentials)")
    command.set_defaults(run=_run)
