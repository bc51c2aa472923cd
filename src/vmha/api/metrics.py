"""Prometheus metrics of one gateway process (``GET /metrics``).

- ``vmha_notifications{status}``: notifications in the journal by status (read at scrape time);
- ``vmha_step_duration_seconds{step,outcome}``: how long each step run and intake took in this process
  (the step table is wrapped by ``instrument`` before the runtime gets it);
- ``vmha_execution_duration_seconds{function,status}``: executions through the functions APIs;
- ``vmha_queue_messages{queue,state}`` and ``vmha_queue_lag_seconds{queue}``: Zaqar's counts and the age
  of the oldest message of each queue, the lag of the consumers (read at scrape time; when Zaqar cannot
  be asked, ``vmha_queue_stats_up`` is 0 and the queue metrics are left out);
- ``vmha_segment_fencing{segment,fencing}``: 1 for each segment's fencing mode, so an alert can watch for
  ``fencing="disabled"``, a segment whose servers are evacuated without proof that their host is dead
  (read from Nova at scrape time; ``vmha_segments_up`` is 0 when Nova cannot be asked);
- ``vmha_segment_absorbs{segment}`` and ``vmha_segment_headroom{segment,resource}``: whether each segment
  absorbs the loss of its largest host, and what its targets would have left per resource class, negative when
  short (``vmha.capacity``; read from Placement and Nova at most every ``CAPACITY_REFRESH_SECONDS``, as it
  costs a few calls per host; ``vmha_capacity_up`` is 0 when they cannot be asked);
- ``vmha_recovery_phase_seconds{segment,phase}``: a histogram of the host recoveries of the last
  ``RECOVERIES_SINCE`` per segment, each phase counted from the failure (``vmha.rto``; read from the journal
  at most every ``CAPACITY_REFRESH_SECONDS``), so the last phase, ``all_active``, is the recovery time;
- ``vmha_versioned_notifications_total{outcome}``: Masakari's versioned notifications this process sent, dropped
  (waited too long for the broker, or the queue was full) or failed (the broker refused or was down)
  (``vmha.versioned_notifications``; registered by ``count_events``);
- ``vmha_nova_notifications_total{outcome}``: Nova's versioned notifications this process heard, the held looks
  they woke, and the failures to reach the broker (``vmha.runtime.nova_listener``; registered by
  ``count_nova_news``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from vmha.capacity import RESOURCE_CLASSES
from vmha.capacity.reading import verdicts
from vmha.cloud.segments import segments
from vmha.context import StepContext
from vmha.contracts import Notification, RetryPolicy, Settings, StepMessage
from vmha.journal import ExecutionStatus, Journal
from vmha.outcomes import IntakeOutcome, Outcome
from vmha.refreshed import Refreshed
from vmha.rto import PHASES, Timeline
from vmha.rto.reading import host_recoveries
from vmha.runtime import IntakeFunction, StepFunction, StepTable
from vmha.versioned_notifications import VersionedNotifier

log = logging.getLogger(__name__)
_O = TypeVar("_O")

QueueStats = Callable[[str], Mapping[str, Any]]
"""Zaqar's stats of a queue: ``{"messages": {"free", "claimed", "total", "oldest": {"age"}}}``."""

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's multiprocess mode: set in the environment of every process before it starts."""
CAPACITY_REFRESH_SECONDS = 60.0
RECOVERIES_SINCE = timedelta(days=30)
_PHASE_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0, 1200.0)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass(frozen=True)
class TimedStep:
    """A step table entry whose runs are timed."""

    id: str
    run: StepFunction
    per_instance: bool
    timeout_seconds: float
    retry: RetryPolicy | None


class Metrics:
    """The registry of one process and the instruments the gateway feeds."""

    def __init__(self, journal: Journal, queues: tuple[str, ...], stats: QueueStats, cloud: Any,
                 settings: Settings) -> None:
        self.registry = CollectorRegistry()
        self._steps = Histogram("vmha_step_duration_seconds", "Step and intake run time in this process.",
                                ["step", "outcome"], registry=self.registry, buckets=_BUCKETS)
        self._executions = Histogram("vmha_execution_duration_seconds", "Function executions through the API.",
                                     ["function", "status"], registry=self.registry, buckets=_BUCKETS)
        self._read_at_scrape: list[Collector] = [
            _JournalCollector(journal), _QueueCollector(queues, stats), _SegmentCollector(cloud),
            _CapacityCollector(cloud, settings), _RecoveryCollector(journal)]
        for collector in self._read_at_scrape:
            self.registry.register(collector)

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format; with ``PROMETHEUS_MULTIPROC_DIR`` set (a gateway in several
        processes, e.g. under uWSGI), the instruments of every process of that directory."""
        if not os.environ.get(MULTIPROCESS_DIR):
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]  # registers itself
        for collector in self._read_at_scrape:
            merged.register(collector)
        return generate_latest(merged)

    def count_events(self, events: VersionedNotifier) -> None:
        """Export the counts of ``events`` (this process's versioned notifications)."""
        self._count(_Counts("vmha_versioned_notifications", "Masakari's versioned notifications by outcome.",
                            ("sent", "dropped", "failed"), lambda: events.counts))

    def count_nova_news(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Export the ``counts`` of this process's listener of Nova's versioned notifications."""
        self._count(_Counts("vmha_nova_notifications", "Nova's versioned notifications heard, held looks they "
                            "woke, failures to reach the broker.", ("heard", "woken", "failures"), counts))

    def _count(self, collector: Collector) -> None:
        self._read_at_scrape.append(collector)
        self.registry.register(collector)

    def observe_execution(self, function: str, status: ExecutionStatus, seconds: float) -> None:
        self._executions.labels(function, status.value).observe(seconds)

    def instrument(self, table: StepTable) -> dict[str, TimedStep]:
        """The table with every step's runs timed."""
        return {key: TimedStep(step.id, self._timed(step.id, step.run), step.per_instance, step.timeout_seconds,
                               step.retry) for key, step in table.items()}

    def instrument_intake(self, intake: IntakeFunction) -> IntakeFunction:
        def timed(notification: Notification, context: StepContext) -> IntakeOutcome:
            return self._observe("intake", lambda: intake(notification, context))
        return timed

    def _timed(self, step_id: str, run: StepFunction) -> StepFunction:
        def timed(message: StepMessage, context: StepContext) -> Outcome:
            return self._observe(step_id, lambda: run(message, context))
        return timed

    def _observe(self, name: str, body: Callable[[], _O]) -> _O:
        started, outcome = time.monotonic(), "raised"
        try:
            result = body()
            outcome = type(result).__name__.lower()
            return result
        finally:
            self._steps.labels(name, outcome).observe(time.monotonic() - started)


class _JournalCollector(Collector):
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("vmha_notifications", "Notifications in the journal by status.",
                                   labels=["status"])
        for status, count in self._journal.count_notifications().items():
            family.add_metric([status.value], count)
        yield family


class _QueueCollector(Collector):
    def __init__(self, queues: tuple[str, ...], stats: QueueStats) -> None:
        self._queues = queues
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("vmha_queue_stats_up", "1 when Zaqar answered the queue stats.")
        counts = GaugeMetricFamily("vmha_queue_messages", "Messages by queue and state.", labels=["queue", "state"])
        lag = GaugeMetricFamily("vmha_queue_lag_seconds", "Age of the oldest message of the queue.",
                                labels=["queue"])
        try:
            for queue in self._queues:
                messages = self._stats(queue).get("messages", {})
                for state in ("free", "claimed", "total"):
                    counts.add_metric([queue, state], messages.get(state, 0))
                lag.add_metric([queue], messages.get("oldest", {}).get("age", 0))
        except Exception:  # Zaqar down must not break the scrape
            log.warning("queue stats unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, counts, lag)


class _Counts(Collector):
    """A counter by outcome, read at scrape time from ``counts()``."""

    def __init__(self, name: str, documentation: str, outcomes: tuple[str, ...],
                 counts: Callable[[], Mapping[str, int]]) -> None:
        self._name, self._documentation, self._outcomes, self._counts = name, documentation, outcomes, counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        total = CounterMetricFamily(self._name, self._documentation, labels=["outcome"])
        counts = self._counts()
        for outcome in self._outcomes:
            total.add_metric([outcome], counts.get(outcome, 0))
        yield total


class _SegmentCollector(Collector):
    def __init__(self, cloud: Any) -> None:
        self._cloud = cloud

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("vmha_segments_up", "1 when Nova answered the segments (host aggregates).")
        fencing = GaugeMetricFamily("vmha_segment_fencing", "1 for the fencing mode of each segment.",
                                    labels=["segment", "fencing"])
        try:
            found = segments(self._cloud)
        except Exception:  # Nova down or a segment misconfigured must not break the scrape
            log.warning("segments unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        for segment in found:
            fencing.add_metric([segment.name, segment.fencing.value], 1)
        up.add_metric([], 1)
        yield from (up, fencing)


class _CapacityCollector(Collector):
    def __init__(self, cloud: Any, settings: Settings) -> None:
        self._verdicts = Refreshed(lambda: verdicts(cloud, settings, segments(cloud), 1), CAPACITY_REFRESH_SECONDS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("vmha_capacity_up", "1 when Placement and Nova answered the capacity check.")
        absorbs = GaugeMetricFamily("vmha_segment_absorbs", "1 when the segment absorbs the loss of its largest "
                                    "host.", labels=["segment"])
        headroom = GaugeMetricFamily("vmha_segment_headroom", "What the segment's targets would have left after "
                                     "the loss of its largest host, per resource class.",
                                     labels=["segment", "resource"])
        try:
            found = self._verdicts()
        except Exception:  # Placement or Nova down must not break the scrape
            log.warning("capacity unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        for verdict in found:
            absorbs.add_metric([verdict.segment], int(verdict.absorbs))
            for kind in RESOURCE_CLASSES:
                headroom.add_metric([verdict.segment, kind], verdict.headroom[kind])
        up.add_metric([], 1)
        yield from (up, absorbs, headroom)


class _RecoveryCollector(Collector):
    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._timelines = Refreshed(self._recent, CAPACITY_REFRESH_SECONDS)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily("vmha_recovery_phase_seconds", "Host recoveries' phases, in seconds from the "
                                       "failure.", labels=["segment", "phase"])
        grouped: dict[tuple[str, str], list[float]] = {}
        for line in self._timelines():
            for phase in PHASES:
                took = line.phases[phase]
                if took is not None:
                    grouped.setdefault((line.segment, phase), []).append(took)
        for labels, values in sorted(grouped.items()):
            buckets = [(str(bound), float(sum(1 for value in values if value <= bound))) for bound in _PHASE_BUCKETS]
            family.add_metric(list(labels), [*buckets, ("+Inf", float(len(values)))], sum(values))
        yield family

    def _recent(self) -> list[Timeline]:
        return host_recoveries(self._journal, since=datetime.now(UTC) - RECOVERIES_SINCE)
