"""The queue consumer: worker threads claiming messages one at a time, and the deadline sweeper.

Each worker first runs a held message that is due (a step that follows one this process ran, kept under
its claim: ``vmha.runtime.held``), then claims from the notifications queue (new failures start at
once), then from the steps queue (the other way round when it answers a wake-up for a step message this process
posted: ``Wakeup.steps_first``), handles what it got and looks again; with nothing to do it waits for the
process's next poll (``vmha.runtime.wakeup``), a wake-up or the next held message. A message whose handling
keeps raising is dead-lettered (``vmha.runtime.poison``); one held up by a dependency outage is held under its
claim (renewed while Zaqar answers) and tried again every ``OUTAGE_PAUSE`` seconds, so the recovery goes on as
soon as the dependency is back instead of after the claim expires (Zaqar itself down: the claim may end
meanwhile, and the journal keeps a replica claiming the message then from running a step twice).
A consumer that claims a message wakes one more: there may be others.
Each claim is recorded in the journal before its message is handled, and a replica thread beats and takes
over dead replicas (``vmha.runtime.replicas``).
With ``nova_notifications.transport_url`` set, a listener thread hears Nova's versioned notifications and wakes
the held looks of the servers they announce (``vmha.runtime.nova_listener``).
At most ``settings.gateway.workers`` messages are handled at once per process; any number of processes
compete for the same queues through Zaqar claims. ``stop`` lets in-flight messages finish and releases the
claims of those that do not finish in time, so another replica takes them at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from enum import Enum

from vmha.escalation import Escalation
from vmha.journal import IllegalTransitionError, Journal, NotificationRecord, NotificationStatus
from vmha.runtime.backoff import OUTAGE_PAUSE
from vmha.runtime.busy import Busy
from vmha.runtime.effects import Effects, id_of
from vmha.runtime.held import Held, HeldMessages
from vmha.runtime.intake import NotificationRunner
from vmha.runtime.nova_listener import NovaListener
from vmha.runtime.poison import Failures, describe, is_outage
from vmha.runtime.queues import Claimed
from vmha.runtime.replicas import Replica
from vmha.runtime.runner import StepRunner
from vmha.runtime.services import LEASE_MARGIN, Services
from vmha.runtime.wakeup import Wakeup

log = logging.getLogger(__name__)

Handler = Callable[[Claimed], Held | None]


class Found(Enum):
    """What one look for work found."""

    NOTHING = "nothing"
    HELD = "a held message"
    CLAIMED = "a claimed message"


_ERROR_PAUSE = 1.0


class Consumer:
    """The consumer threads and the sweeper of one gateway process."""

    def __init__(self, services: Services, wakeup: Wakeup | None = None) -> None:
        self._services = services
        self.wakeup = wakeup or Wakeup()
        self._escalation = Escalation(services.settings.escalation, services.journal)
        self._held = HeldMessages(self.wakeup, services.news.pending)
        heard = services.settings.nova_notifications
        self.nova = (NovaListener(heard, services.news, self._held.wake, self._held.wake_announced)
                     if heard.transport_url else None)
        self.replica = Replica(services, self._held, self.wakeup)
        effects = self._effects = Effects(services, self.wakeup, self._escalation, self._held)
        self._failures = Failures()
        names = services.settings.queues
        self._handlers: dict[str, Handler] = {  # claimed in this order: new failures first (but see steps_first)
            names.notifications: NotificationRunner(services, effects).handle,
            names.steps: StepRunner(services, effects, lambda: self.replica.owner).handle,
        }
        self._claim_order = tuple(self._handlers.items())
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._in_flight: dict[str, Claimed] = {}
        self._lock = threading.Lock()
        self.busy = Busy()
        self._limits = handling_limits(services)

    def start(self) -> None:
        """Prepare the queues and start the workers and the sweeper."""
        settings = self._services.settings
        names, max_claims = settings.queues, settings.gateway.max_claims
        for queue in (names.dead_letters, names.notifications, names.steps):
            dead_letters = "" if queue == names.dead_letters else names.dead_letters
            self._services.queues.prepare(queue, delays=queue == names.steps, dead_letters=dead_letters,
                                          max_claims=max_claims)
        self.replica.join()
        workers = self._services.settings.gateway.workers
        targets = [(f"vmha-worker-{n}", self._work) for n in range(workers)]
        targets += [("vmha-sweeper", self._sweep), ("vmha-replica", self._beat)]
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.nova is not None:
            self.nova.start()
        log.info("consumer started", extra={"workers": workers})

    @property
    def alive(self) -> bool:
        """Whether the workers, the sweeper and the replica thread all run."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float) -> None:
        """Stop claiming; wait up to ``timeout`` s for in-flight messages, then release the rest's claims."""
        self._stopping.set()
        self.wakeup.wake_all()
        if self.nova is not None:
            self.nova.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)
        with self._lock:
            left = list(self._in_flight.values())
        for claimed in left:
            try:
                self._services.queues.release(claimed)
            except Exception:
                log.exception("could not release a claim", extra={"message_id": claimed.id})
        try:
            self.replica.leave()
        except Exception:  # the others take its claims over when they see it stopped beating
            log.exception("could not leave the replicas")
        log.info("consumer stopped", extra={"released": len(left)})

    def poll_once(self, queues: bool = True) -> Found:
        """Handle at most one message, held or (``queues``) claimed, and say which (errors included)."""
        held = self._held.pop_due()
        if held is not None:
            self._handle(held, self._handlers[held.queue])
            return Found.HELD
        if not queues:
            return Found.NOTHING
        gateway = self._services.settings.gateway
        order = self._claim_order
        for queue, handle in order[::-1] if self.wakeup.steps_first() else order:
            claimed = self._services.queues.claim(queue, gateway.claim_ttl_seconds, gateway.claim_grace_seconds)
            if claimed is not None:
                self.wakeup.wake()  # there may be more: one more consumer looks
                self._handle(claimed, handle)
                return Found.CLAIMED
        return Found.NOTHING

    def _handle(self, claimed: Claimed, handle: Handler) -> None:
        """Handle ``claimed``, then what follows it: at once in this worker when it is due at once and waits for
        nothing (the next step of a chain goes before older held looks, so its hop is the journal's alone), else
        held."""
        held = self._handle_one(claimed, handle)
        while held is not None and held.delay <= 0 and held.branch_waiter is None and not self._stopping.is_set():
            held = self._handle_one(held.claimed, handle)
        if held is not None:
            self._held.hold(held)

    def _handle_one(self, claimed: Claimed, handle: Handler) -> Held | None:
        with self._lock:
            self._in_flight[claimed.id] = claimed
        held = None
        self.busy.begin(claimed.id, self._limits.get(claimed.queue, max(self._limits.values())))
        try:
            self.replica.holding(claimed)
            held = handle(claimed)
        except Exception as error:  # e.g. the journal down: held, or left claimed to come back later
            held = self._failed(claimed, error)
        finally:
            self.busy.end()
            with self._lock:
                if held is None:
                    self._in_flight.pop(claimed.id, None)
                else:
                    self._in_flight[claimed.id] = held.claimed
        if held is None:
            self.replica.released(claimed)
        return held

    def _failed(self, claimed: Claimed, error: Exception) -> Held | None:
        """Log a failed handling; hold the message through an outage, or dead-letter it (and delete it) when its
        handling failed too often."""
        labels = {"queue": claimed.queue, "message_id": claimed.id}
        if is_outage(error):
            log.warning("a dependency is down; the message is tried again",
                        extra={**labels, "error": describe(error), "retry_seconds": OUTAGE_PAUSE})
            return self._through_outage(claimed)
        failures = self._failures.add(claimed.id)
        if failures < self._services.settings.gateway.poison_failures:
            log.exception("message handling failed; it returns when its claim expires",
                          extra={**labels, "failures": failures})
            return None
        log.error("message handling failed too often; it is dead-lettered", exc_info=error, extra=labels)
        reason = f"its handling failed {failures} time{'' if failures == 1 else 's'}, last: {describe(error)}"
        body = claimed.body
        try:
            self._effects.dead_letter(claimed, reason, id_of(body, "notification_id") or id_of(body, "id"))
            self._services.queues.delete(claimed)
        except Exception:
            log.exception("could not dead-letter a failing message; it returns when its claim expires",
                          extra=labels)
            return None
        self._failures.forget(claimed.id)
        return None

    def _through_outage(self, claimed: Claimed) -> Held:
        """``claimed`` held ``OUTAGE_PAUSE`` s, its claim renewed first when it would end before then. When Zaqar
        cannot renew it (Zaqar itself is down), it is held all the same: a replica claiming it once the claim
        ended finds the journal's records, so no step runs twice."""
        gateway = self._services.settings.gateway
        now = time.monotonic()
        if now + OUTAGE_PAUSE + LEASE_MARGIN.total_seconds() > claimed.claimed_at + gateway.claim_ttl_seconds:
            try:
                self._services.queues.postpone(claimed, gateway.claim_ttl_seconds, gateway.claim_grace_seconds)
                claimed = replace(claimed, claimed_at=now)
            except Exception as error:
                log.warning("could not renew the claim of a message held up by an outage",
                            extra={"message_id": claimed.id, "error": describe(error)})
        return Held(claimed, OUTAGE_PAUSE)

    def _work(self) -> None:
        interval = self._services.settings.gateway.poll_interval_seconds
        queues, seen = True, self.wakeup.generation
        while not self._stopping.is_set():
            if queues:
                seen = self.wakeup.generation  # the claims below answer every wake-up before this
            try:
                found = self.poll_once(queues)
            except Exception:  # Zaqar unreachable: keep trying, never die
                log.exception("claiming failed")
                self._stopping.wait(_ERROR_PAUSE)
                continue
            if found is Found.NOTHING:
                queues = self.wakeup.wait(seen, interval, polled=queues)
            elif found is Found.HELD:  # Zaqar was not asked: it still is if it was to be, or a wake-up came since
                queues = queues or self.wakeup.generation != seen
            else:  # more may wait in Zaqar
                queues = True

    def _beat(self) -> None:
        while not self._stopping.wait(self.replica.interval):
            try:
                self.replica.beat_once()
            except Exception as error:  # the journal unreachable: no verdict until it answers
                log.warning("replica heartbeat failed", extra={"error": describe(error)})

    def _sweep(self) -> None:
        interval = self._services.settings.gateway.sweep_interval_seconds
        while not self._stopping.wait(interval):
            try:
                self.sweep_once()
            except Exception:
                log.exception("sweeping failed")
            self.look_once()

    def sweep_once(self) -> int:
        """Fail every notification past its deadline; return how many this call failed."""
        return sweep(self._services.journal, self._services.settings.ceilings.notification_seconds,
                     self._effects.failed)


    def look_once(self) -> None:
        """Run the sweep hook once, if any (errors logged)."""
        services = self._services
        if services.on_sweep is None:
            return
        try:
            services.on_sweep(services.settings, services.journal, services.cloud)
        except Exception:
            log.exception("the sweep hook failed")


def handling_limits(services: Services) -> dict[str, float]:
    """How long handling a message of each queue may take: its step's timeout (the longest of the table's,
    or intake's) plus the lease margin and one OpenStack and one journal request's timeouts."""
    timeouts, names = services.settings.timeouts, services.settings.queues
    extra = LEASE_MARGIN.total_seconds() + timeouts.openstack_seconds + timeouts.journal_seconds
    longest_step = max((step.timeout_seconds for step in services.table.values()), default=0)
    return {names.notifications: services.intake_timeout_seconds + extra, names.steps: longest_step + extra}


def sweep(journal: Journal, ceiling_seconds: int,
          failed: Callable[[NotificationRecord], None] = lambda record: None) -> int:
    """Fail the notifications past their deadline, calling ``failed`` with each; return how many this call
    failed (safe on every replica: a notification another replica failed first is neither counted nor passed)."""
    swept = 0
    reason = f"not ended within the ceiling of {ceiling_seconds} s"
    for record in journal.notifications_past_deadline():
        try:
            moved = journal.move_status(record.id, NotificationStatus.FAILED, reason)
        except IllegalTransitionError:  # it ended meanwhile
            continue
        if moved is None:  # another replica failed it first
            continue
        log.warning("notification past its deadline failed", extra={"notification_id": record.id})
        failed(moved)
        swept += 1
    return swept
