"""``/metrics``: each segment's fencing mode, so that an opt-out is visible (fake Nova, a real journal)."""

from __future__ import annotations

from openstack import exceptions

from vmha.api.metrics import Metrics
from vmha.contracts import load_settings
from vmha.journal import Journal

from .fake_nova import FakeCloud, http_error


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
