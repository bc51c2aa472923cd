"""``/metrics``: each segment's fencing mode, so that an opt-out is visible (fake Nova, a real journal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from openstack import exceptions

from vmha.api.metrics import Metrics
from vmha.contracts import load_settings
from vmha.journal import InstanceStatus, Journal, NotificationStatus

from .fake_nova import FakeCloud, http_error
from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification


def test_every_segment_shows_its_fencing_mode(journal: Journal) -> None:
    cloud = FakeCloud()
    cloud.compute.add_aggregate("fenced", ["compute1"], {"vmha:recovery_method": "auto"})
    cloud.compute.add_aggregate("unfenced", ["compute2"], {"vmha:fencing": "disabled"})
    cloud.compute.add_aggregate("plain", ["compute3"], {"other": "key"})
    text = Metrics(journal, (), lambda queue: {}, cloud, load_settings(environ={})).exposition().decode()
    assert 'vmha_segment_fencing{fencing="required",segment="fenced"} 1.0' in text
    assert 'vmha_segment_fencing{fencing="disabled",segment="unfenced"} 1.0' in text
    assert 'segment="plain"' not in text and "vmha_segments_up 1.0" in text


def test_nova_down_leaves_the_scrape_working(journal: Journal) -> None:
    cloud = FakeCloud()
    cloud.compute.fail_next("aggregates", http_error(exceptions.HttpException, 503, "Nova is down"))
    text = Metrics(journal, (), lambda queue: {}, cloud, load_settings(environ={})).exposition().decode()
    assert "vmha_segments_up 0.0" in text and "vmha_notifications" in text


def test_host_recoveries_of_the_last_days_are_a_histogram_per_segment_and_phase(journal: Journal,
                                                                              clock: FakeClock) -> None:
    clock.now = datetime.now(UTC)
    new = new_notification(segment="seg", generated_time=clock.now - timedelta(seconds=50))
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    journal.set_status(new.id, NotificationStatus.RUNNING)
    clock.advance(timedelta(seconds=20))
    journal.record_instance_progress(new.id, "server", InstanceStatus.SUCCEEDED, dest_host="other")
    journal.set_status(new.id, NotificationStatus.FINISHED)
    text = Metrics(journal, (), lambda queue: {}, FakeCloud(), load_settings(environ={})).exposition().decode()
    assert 'vmha_recovery_phase_seconds_bucket{le="90.0",phase="all_active",segment="seg"} 1.0' in text
    assert 'vmha_recovery_phase_seconds_bucket{le="60.0",phase="all_active",segment="seg"} 0.0' in text
    assert 'vmha_recovery_phase_seconds_count{phase="fenced",segment="seg"}' not in text, "no fence step ran"
