"""The host monitor's self-fence lease on a fake monotonic clock: armed by its segment, out after the lease
counted from the last successful heartbeat, whatever the isolation addresses say."""

from __future__ import annotations

from pathlib import Path

from vmha.monitors.host.lease import SelfFence, Watchdog, watchdog
from vmha.monitors.host.monitor import HostMonitor

from .test_monitors_host import DEAD, OPTIONS, FakeEngine, FakeGroup, FakeProbe, Outbox, Recorder

SEGMENT = {"vmha:fencing": "required_or_selffence", "vmha:self_fence_seconds": "20"}


def host(engine: FakeEngine, clock: list[float], lease: SelfFence) -> HostMonitor:
    """A monitor whose isolation response does nothing: the lease alone stops servers here."""
    return HostMonitor("a", group=FakeGroup(engine, "a"), probe=FakeProbe(DEAD), outbox=Outbox(), options=OPTIONS,
                       response=Recorder(), evacuable=lambda: frozenset({"vm-1"}), clock=lambda: clock[0],
                       lease=lease)


def lose_group_until(monitor: HostMonitor, engine: FakeEngine, clock: list[float], last: float) -> None:
    engine.up = False
    while clock[0] < last:
        clock[0] += 1.0
        monitor.tick()


def test_the_servers_are_stopped_once_the_lease_is_out_counted_from_the_last_heartbeat(tmp_path: Path) -> None:
    engine, clock, stopped = FakeEngine(), [0.0], Recorder()
    (tmp_path / "watchdog").touch()  # a plain file stands in for /dev/watchdog
    monitor = host(engine, clock, SelfFence(lambda: SEGMENT, stopped, watchdog=watchdog(str(tmp_path / "watchdog"))))
    monitor.tick()
    clock[0] = 5.0
    monitor.tick()  # last successful heartbeat at 5 s
    assert engine.armed == {"a": 20}  # its armed marker says the segment's lease
    lose_group_until(monitor, engine, clock, 24.0)
    assert stopped.calls == []
    lose_group_until(monitor, engine, clock, 40.0)
    assert stopped.calls == [frozenset({"vm-1"})]  # at 25 s, once
    engine.up = True
    monitor.tick()
    lose_group_until(monitor, engine, clock, 61.0)
    assert len(stopped.calls) == 2  # back in the group re-arms it


def test_without_a_watchdog_the_lease_stops_the_servers_but_keeps_no_marker() -> None:
    engine, clock, stopped = FakeEngine(), [0.0], Recorder()
    monitor = host(engine, clock, SelfFence(lambda: SEGMENT, stopped))
    monitor.tick()
    assert engine.armed == {"a": None}  # a monitor that dies would stop nothing: its absence proves nothing
    lose_group_until(monitor, engine, clock, 21.0)
    assert stopped.calls == [frozenset({"vm-1"})]


def test_a_setting_only_shortens_the_lease_and_the_last_value_read_stands(tmp_path: Path) -> None:
    engine, clock, stopped = FakeEngine(), [0.0], Recorder()
    answers: list[dict[str, str] | None] = [SEGMENT]
    (tmp_path / "watchdog").touch()  # a plain file stands in for /dev/watchdog
    shorter = SelfFence(lambda: answers[-1], stopped, cap_seconds=8, watchdog=watchdog(str(tmp_path / "watchdog")))
    longer = SelfFence(lambda: SEGMENT, stopped, cap_seconds=300)
    longer.refresh()
    assert longer.seconds == 20
    monitor = host(engine, clock, shorter)
    monitor.tick()
    answers.append(None)  # the segment cannot be read any more: 20 s and armed stand
    shorter.refresh()
    assert (shorter.seconds, shorter.marker_seconds) == (8, 20)
    lose_group_until(monitor, engine, clock, 8.0)
    assert stopped.calls == [frozenset({"vm-1"})]


def test_a_segment_that_does_not_self_fence_arms_nothing_unless_forced() -> None:
    engine, clock, stopped = FakeEngine(), [0.0], Recorder()
    monitor = host(engine, clock, SelfFence(lambda: {"vmha:fencing": "required"}, stopped))
    monitor.tick()
    lose_group_until(monitor, engine, clock, 100.0)
    assert stopped.calls == [] and engine.armed == {"a": None}
    forced = SelfFence(lambda: {}, stopped, forced=True)
    forced.refresh()
    assert forced.seconds == 60  # no segment: the default lease
    assert forced.marker_seconds is None  # no watchdog: it stops its servers, but proves nothing to the others


def test_the_watchdog_is_petted_only_after_heartbeats_and_disarmed_on_stop(tmp_path: Path) -> None:
    """A plain file stands in for /dev/watchdog: it records the pets and the magic close."""
    device = tmp_path / "watchdog"
    device.touch()
    assert watchdog(str(tmp_path / "absent")) is None and watchdog("") is None
    found = watchdog(str(device))
    assert isinstance(found, Watchdog)
    engine, clock = FakeEngine(), [0.0]
    lease = SelfFence(lambda: SEGMENT, Recorder(), watchdog=found)
    monitor = host(engine, clock, lease)
    for _ in range(3):
        monitor.tick()
    lose_group_until(monitor, engine, clock, 30.0)  # no pets: the kernel would reboot the host
    assert device.read_bytes() == b"\0\0\0"
    lease.stop()
    assert device.read_bytes() == b"\0\0\0V"
