"""``GET /v1/report`` through a real gateway: the journal's host recoveries per segment against the objective a
real Nova aggregate declares (``vmha:rto_seconds``). The recoveries are written to the gateway's journal as
the steps write them, at the journal's own time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.cloud.layout import Layout
from vmha.functions import STEPS, intake
from vmha.journal import InstanceStatus, NewNotification, NotificationStatus, StepClaim, StepKey, open_journal

from .api_support import api_settings, serving
from .recovery_support import segment
from .runtime_support import Place


def record_recovery(journal_url: str, segment_name: str, failed_seconds_ago: float, servers: int) -> str:
    """A host recovery of ``servers`` servers that ended now, its failure ``failed_seconds_ago``."""
    new = NewNotification(str(uuid.uuid4()), "COMPUTE_HOST", f"report-{uuid.uuid4().hex[:6]}",
                          datetime.now(UTC) - timedelta(seconds=failed_seconds_ago),
                          {"event": "STOPPED", "host_status": "NORMAL"}, "test", segment=segment_name)
    with open_journal(journal_url) as journal:
        journal.record_notification(new, dedup_window=timedelta(minutes=3), terminal_within=timedelta(hours=1))
        journal.set_status(new.id, NotificationStatus.RUNNING)
        claim = journal.begin_step(StepKey(new.id, "fence_host"), timedelta(minutes=5))
        assert isinstance(claim, StepClaim)
        journal.finish_step(claim, {})
        for number in range(servers):
            journal.record_instance_progress(new.id, f"server-{number}", InstanceStatus.SUCCEEDED, dest_host="x")
        journal.set_status(new.id, NotificationStatus.FINISHED)
    return new.id


def test_the_report_says_which_recoveries_met_the_segments_objective(
    cloud_layout: Layout, admin_conn: Any, tmp_path: Path
) -> None:
    place = Place(tmp_path, admin_conn)
    with segment(admin_conn, (), {"vmha:enabled": "false", "vmha:rto_seconds": "120"}) as aggregate, \
            serving(cloud_layout, api_settings(place), STEPS, intake) as api:
        quick = record_recovery(place.journal_url, aggregate.name, 60, 2)
        slow = record_recovery(place.journal_url, aggregate.name, 600, 1)
        elsewhere = record_recovery(place.journal_url, f"gone-{uuid.uuid4().hex[:6]}", 30, 1)
        answer = api.call("GET", "/v1/report", params={"segment": aggregate.name})
        assert answer.status_code == 200, answer.text
        [report] = answer.json()["report"]
        everything = api.call("GET", "/v1/report").json()["report"]
        bad = api.call("GET", "/v1/report", params={"since": "yesterday"})
    assert (report["segment"], report["objective_seconds"], report["recoveries"], report["met"]) == (
        aggregate.name, 120, 2, 1)
    met = {line["notification_id"]: line["met"] for line in report["timelines"]}
    assert met == {quick: True, slow: False}
    took = {line["notification_id"]: line["phases"]["all_active"] for line in report["timelines"]}
    assert 59 <= took[quick] < 90 and 599 <= took[slow] < 630, "counted from the failure"
    gone = next(item for item in everything if item["timelines"][0]["notification_id"] == elsewhere)
    assert (gone["objective_seconds"], gone["met"]) == (None, None), "a segment that no longer exists has none"
    assert bad.status_code == 400 and "since" in bad.json()["error"]["message"]
