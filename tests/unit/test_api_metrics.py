"""``/metrics``: each segment's fencing mode, so that an opt-out is visible (fake Nova, a real journal)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openstack import exceptions

from vmha.api.metrics import MULTIPROCESS_DIR, Metrics
from vmha.contracts import load_settings
from vmha.journal import InstanceStatus, Journal, NotificationStatus, upgrade

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


WRITER = """
import sys
from vmha.api.metrics import MULTIPROCESS_DIR, Metrics
from vmha.contracts import load_settings
from vmha.journal import ExecutionStatus, open_journal
from tests.unit.fake_nova import FakeCloud
metrics = Metrics(open_journal(sys.argv[1]), (), lambda queue: {}, FakeCloud(), load_settings(environ={}))
if sys.argv[2] == "observe":
    metrics.observe_execution("fence_host", ExecutionStatus.SUCCESS, 0.1)
else:
    sys.stdout.write(metrics.exposition().decode())
"""


def test_several_gateway_processes_answer_the_scrape_with_all_their_observations(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, MULTIPROCESS_DIR: str(shared)}
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    upgrade(url)

    def process(role: str) -> str:
        done = subprocess.run([sys.executable, "-c", WRITER, url, role], env=env, capture_output=True, text=True,
                              timeout=120, check=False, cwd=Path(__file__).resolve().parents[2])
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    process("observe")
    process("observe")
    scraped = process("scrape")
    assert 'vmha_execution_duration_seconds_count{function="fence_host",status="success"} 2.0' in scraped
    assert "vmha_notifications" in scraped, "what is read at scrape time is still there"
