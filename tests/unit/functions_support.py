"""Helpers of the recovery function tests: settings, notifications, and a fake cloud with a driver."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.functions_driver import Driver, FlowRun
from vmha.context import RunContext
from vmha.contracts import (
    HostEvent,
    HostPayload,
    HostStatus,
    Notification,
    Payload,
    ProcessEvent,
    ProcessPayload,
    Settings,
    StepMessage,
    VirDomainEvent,
    VmEvent,
    VmPayload,
    parse_settings,
)
from vmha.functions.registry import STEPS
from vmha.journal import InstanceStatus, Journal, NewNotification
from vmha.outcomes import Outcome

from .fake_nova import FakeCloud
from .journal_support import FakeClock

SEGMENT = "segment-a"


def settings(**sections: Any) -> Settings:
    """Default settings with some sections or fields replaced, e.g. host_failure={"evacuate_all_instances": False}."""
    return parse_settings(sections, {})


def host_down(status: HostStatus | None = HostStatus.NORMAL) -> HostPayload:
    return HostPayload(HostEvent.STOPPED, status)


def vm_failed(instance: str, event: VmEvent = VmEvent.LIFECYCLE,
              detail: VirDomainEvent = VirDomainEvent.STOPPED_FAILED) -> VmPayload:
    return VmPayload(event, detail, uuid.UUID(instance))


def process_down(name: str = "nova-compute", event: ProcessEvent = ProcessEvent.STOPPED) -> ProcessPayload:
    return ProcessPayload(event, name)


@dataclass
class World:
    """A fake cloud with one segment (compute1..3), a real journal on fake time, and a driver."""

    cloud: FakeCloud
    journal: Journal
    clock: FakeClock
    settings: Settings

    @property
    def nova(self) -> Any:
        return self.cloud.compute

    def segment(self, **metadata: str) -> None:
        """(Re)define the segment aggregate with ``vmha:<key>`` metadata. It opts out of fencing unless told
        otherwise: these tests are about what comes after the fence (test_functions_fencing is about it)."""
        self.nova.aggregate_list = [a for a in self.nova.aggregate_list if a.name != SEGMENT]
        values = {"vmha:recovery_method": "auto", "vmha:fencing": "disabled",
                  **{f"vmha:{key}": value for key, value in metadata.items()}}
        self.nova.add_aggregate(SEGMENT, ["compute1", "compute2", "compute3"], values)

    def notification(self, payload: Payload, host: str = "compute1") -> Notification:
        return Notification(uuid.uuid4(), "test", host, self.clock(), payload)

    def recorded(self, payload: Payload, host: str = "compute1") -> Notification:
        """A notification already in the journal (as the runtime records it before intake)."""
        notification = self.notification(payload, host)
        self.journal.record_notification(NewNotification.of(notification, SEGMENT, "auto"), dedup_window=timedelta(0),
                                         terminal_within=timedelta(hours=1))
        return notification

    def wait(self, delay: float) -> None:
        self.clock.advance(timedelta(seconds=delay))
        self.nova.settle()

    def driver(self) -> Driver:
        return Driver(self.cloud, self.journal, self.settings, self.clock, wait=self.wait)

    def run(self, payload: Payload, host: str = "compute1") -> FlowRun:
        return self.driver().run(self.notification(payload, host))

    def context(self, notification: Notification) -> RunContext:
        return self.driver().context(notification)

    def once(self, notification: Notification, step: str, flow: tuple[str, ...], instance: str | None = None,
             attempt: int = 1) -> Outcome:
        """One direct run of a step, without the journal's step records."""
        deadline = self.clock() + timedelta(seconds=self.settings.ceilings.notification_seconds)
        message = StepMessage(notification.id, step, attempt, flow, flow.index(step), deadline,
                              None if instance is None else uuid.UUID(instance))
        return STEPS[step].run(message, self.context(notification))


def make_world(journal: Journal, clock: FakeClock, **sections: Any) -> World:
    """A World whose segment ``segment-a`` holds compute1..3 and recovers with ``auto``."""
    world = World(FakeCloud(), journal, clock, settings(**sections))
    world.segment()
    return world


HA = {"HA_Enabled": "True"}


def fail_host(world: World, host: str = "compute1") -> None:
    """The host's nova-compute stops reporting (its power went off)."""
    world.nova.service_by_host[host].alive = False


def instances(world: World, notification_id: str) -> dict[str, InstanceStatus]:
    """Recorded progress of each instance of a notification."""
    detail = world.journal.get_notification(notification_id)
    assert detail is not None
    return {item.instance_uuid: item.status for item in detail.instances}


def run_id(world: World) -> str:
    """The id of the notification recorded last."""
    [latest] = world.journal.list_notifications(limit=1)
    return latest.id
