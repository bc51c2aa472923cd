"""What a failed recovery gives back: the servers vmha locked, not those locked before it began."""

from __future__ import annotations

import pytest

from vmha.functions import release_servers
from vmha.journal import Journal, NotificationStatus

from .functions_support import HA, World, fail_host, host_down, make_world, run_id
from .journal_support import FakeClock


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def test_a_failed_recovery_unlocks_the_servers_vmha_locked_and_only_those(world: World) -> None:
    owners, ours = (world.nova.add_server("compute1", metadata=HA) for _ in range(2))
    owners.is_locked = True  # locked by its owner before the failure
    fail_host(world)
    notification = world.notification(host_down())
    assert world.driver().run(notification).status is NotificationStatus.FINISHED
    ours.is_locked = True  # as vmha leaves it while an evacuation is under way
    record = world.journal.get_notification_record(run_id(world))
    assert record is not None
    release_servers(record, world.context(notification))
    assert (owners.is_locked, ours.is_locked) == (True, False)
    assert world.nova.called("unlock_server")[-1] == ours.id
