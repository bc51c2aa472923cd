"""``vmha gateway`` assembled: settings -> journal, one OpenStack connection, Zaqar, consumer, HTTP API.

The step table and the intake are named ``module:attribute`` and loaded here at start-up, so the runtime
core never imports ``vmha.functions`` and a test table can run in a real gateway process. The assembly is
above both the runtime and the API: ``vmha.runtime`` never imports it nor ``vmha.api`` (import-linter).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import threading
from typing import Any

import openstack
from keystoneauth1 import exceptions as keystone_errors
from keystoneauth1.session import TCPKeepAliveAdapter

from vmha.api import ApiServer, App, Functions, Metrics, Parts, keystone_filter
from vmha.api.auth import Filter
from vmha.cloud.request_ids import traced
from vmha.context import COMPUTE_MICROVERSION
from vmha.contracts import Settings
from vmha.journal import open_journal
from vmha.runtime.consumer import Consumer
from vmha.runtime.services import Services, SweepHook
from vmha.runtime.table import FailedHook, IntakeFunction, StepTable, table_problems
from vmha.runtime.zaqar import ZaqarQueues
from vmha.versioned_notifications import VersionedNotifier

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The gateway cannot start; the message is one line for the operator."""


def load_target(spec: str) -> Any:
    """The object named ``module:attribute``, e.g. ``vmha.functions:STEPS``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise StartupError(f"{spec!r} is not of the form module:attribute")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StartupError(f"cannot import {module_name}: {error}") from error
    if not hasattr(module, attribute):
        raise StartupError(f"{module_name} has no attribute {attribute}")
    return getattr(module, attribute)


def connect(cloud: str, timeout_seconds: float, callers: int = 10) -> Any:
    """The process's one openstacksdk Connection, pinned to COMPUTE_MICROVERSION (clouds.yaml / OS_CLOUD), no
    request through its session (Nova, Zaqar, Keystone...) waiting longer than ``timeout_seconds``, each carrying
    the id of the API request or step run it serves (``vmha.cloud.request_ids``).

    Its pool keeps up to ``callers`` connections per endpoint (the threads that may call at once; requests'
    own default is 10): with 10, the 11th concurrent call of a mass recovery opened a connection and threw it
    away after one request, with a "Connection pool is full" warning each time."""
    try:
        conn = openstack.connect(cloud=cloud or None, compute_api_version=COMPUTE_MICROVERSION,
                                 api_timeout=timeout_seconds)
    except openstack.exceptions.ConfigException as error:
        raise StartupError(f"OpenStack credentials: {error}") from error
    adapter = TCPKeepAliveAdapter(pool_maxsize=callers)  # keystoneauth1's own adapter, with a larger pool
    for scheme in ("https://", "http://"):
        conn.session.session.mount(scheme, adapter)
    return traced(conn)


def warm_up(cloud: Any) -> None:
    """One Nova request now, so the first recovery does not pay openstacksdk's version discovery and a new
    connection (about 0.2 s); a Nova that does not answer yet is only logged: recoveries retry."""
    try:
        next(iter(cloud.compute.aggregates()), None)
    except (openstack.exceptions.SDKException, keystone_errors.ClientException) as error:
        log.warning("Nova did not answer the warm-up request", extra={"error": str(error)})


class Gateway:
    """The consumer and the HTTP API (``vmha.api``) of one process."""

    def __init__(self, services: Services, metrics: Metrics, keystone: Filter) -> None:
        options = services.settings.gateway
        self.services = services
        self.consumer = Consumer(services)
        nova = self.consumer.nova
        if nova is not None:
            metrics.count_nova_news(lambda: nova.counts)
        self.functions = Functions(services, metrics.observe_execution)
        app = App(Parts(services, self.consumer.wakeup.wake, self.healthy, metrics, self.functions, keystone))
        self.http = ApiServer(options, services.settings.http, app)

    def healthy(self) -> bool:
        """Every consumer thread still runs, and no worker is stuck past its handling's limit."""
        stuck = self.consumer.busy.stuck()
        for handling in stuck:
            log.error("worker stuck", extra={"worker": handling.worker, "message_id": handling.message_id,
                                             "limit_seconds": handling.limit_seconds})
        return not stuck and self.consumer.alive

    def start(self) -> None:
        warm_up(self.services.cloud)
        self.consumer.start()
        self.http.start()

    def stop(self, timeout: float) -> None:
        """Stop serving, let in-flight messages finish for ``timeout`` s, release the rest."""
        self.http.stop()
        self.functions.close()
        self.consumer.stop(timeout)
        self.services.events.close(timeout)
        self.services.journal.close()


def build(settings: Settings, table: StepTable, intake: IntakeFunction, on_failed: FailedHook | None = None,
          on_sweep: SweepHook | None = None) -> Gateway:
    """A gateway for ``settings`` running ``table`` and ``intake``, ``on_failed`` when a recovery fails and
    ``on_sweep`` on each of the sweeper's looks; raises StartupError."""
    problems = table_problems(table, settings.gateway.claim_ttl_seconds)
    if problems:
        raise StartupError("step table: " + "; ".join(problems))
    # step workers, API threads, and the sweeper, Nova listener and metrics beside them
    callers = settings.gateway.workers + settings.http.threads + 3
    cloud = connect(settings.gateway.cloud, settings.timeouts.openstack_seconds, callers)
    settings = escalating_to_own_project(settings, cloud)
    journal = open_journal(settings.journal_url, timeout_seconds=settings.timeouts.journal_seconds)
    names = settings.queues
    queues = ZaqarQueues(cloud.session)
    metrics = Metrics(journal, (names.notifications, names.steps, names.dead_letters), queues.stats, cloud, settings)
    services = Services(settings, journal, queues, metrics.instrument(table),
                        metrics.instrument_intake(intake), cloud, on_failed=on_failed, on_sweep=on_sweep,
                        events=VersionedNotifier(settings.notifications))
    metrics.count_events(services.events)
    return Gateway(services, metrics, keystone_filter(cloud, settings.api.config_file))


def escalating_to_own_project(settings: Settings, cloud: Any) -> Settings:
    """``settings`` with an empty escalation.project_id (escalation on) filled with the credentials' project."""
    options = settings.escalation
    if not options.transport_url or options.project_id:
        return settings
    own = dataclasses.replace(options, project_id=cloud.current_project_id)
    return dataclasses.replace(settings, escalation=own)


def serve(gateway: Gateway, stop: threading.Event, stop_timeout: float) -> None:
    """Run ``gateway`` until ``stop`` is set, then stop it."""
    gateway.start()
    while not stop.wait(1.0):
        pass
    log.info("stopping", extra={"timeout_seconds": stop_timeout})
    gateway.stop(stop_timeout)
