"""`vmha demo`'s reading of what happened: the host monitors' JSON logs (detection, the evidence the leader
reported on) and the journal (the notification as received, fence_host's confirmed power-off)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.unit.journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, new_notification
from vmha.demo.detection import Detection
from vmha.demo.host_monitors import HostMonitors, MonitorSetup
from vmha.demo.watch import Watch
from vmha.journal import StepClaim, StepKey, open_journal

REPORTED = {"message": "host reported", "host": "compute1", "id": "n-1",
            "reason": "its nova-compute has not reported to Nova for 10 s or more"}


class FakeLogs:
    """The monitors' logs as Detection reads them: records handed out once, in order."""

    def __init__(self, **records: list[dict[str, Any]]) -> None:
        self.records = records

    @property
    def running(self) -> list[str]:
        return sorted(self.records)

    def new_records(self, host: str) -> list[dict[str, Any]]:
        new, self.records[host] = self.records[host], []
        return new


def test_detection_shows_the_departure_the_wait_and_the_leaders_evidence_once() -> None:
    logs = FakeLogs(compute2=[{"message": "host left the group", "host": "compute1"}], compute3=[])
    lines: list[str] = []
    detection = Detection(logs, "compute1", lines.append)  # what was logged before the kill is not detection
    waiting = {"message": "host left the group but is not reported", "host": "compute1",
               "reason": "Nova shows its nova-compute up and reporting: the host is alive"}
    logs.records["compute2"] = [{"message": "host left the group", "host": "compute4"}]
    logs.records["compute3"] = [{"message": "host left the group", "host": "compute1"}, waiting, dict(waiting)]
    assert detection.poll() is None
    logs.records["compute3"] = [{"message": "notification delivered", "target": "zaqar", "id": "n-1"}, REPORTED]
    found = detection.poll()
    assert found is not None
    assert (found.notification_id, found.by, found.evidence) == ("n-1", "compute3", REPORTED["reason"])
    logs.records["compute3"] = [dict(REPORTED, id="n-2")]
    assert detection.poll() == found
    assert [line.split("  ", 1)[1] for line in lines] == [
        "compute1 left the segment's group: no heartbeat for 3 s (3 x 1 s) (noticed by the leader, compute3)",
        f"leader compute3 does not report it yet: {waiting['reason']}",
        f"leader compute3 reports compute1, evidence: {REPORTED['reason']}",
        "notification n-1 delivered (zaqar)",
    ]
    assert all(line.startswith("[detection]") for line in lines)


def test_monitor_logs_are_read_whole_lines_at_a_time(tmp_path: Path) -> None:
    monitors = HostMonitors(MonitorSetup("etcd3+http://127.0.0.1:1", "", "q", "s", None, 10.0), tmp_path)
    log = monitors.log_path("compute2")
    log.write_text(json.dumps({"message": "monitors running"}) + "\nTraceback (most recent call last):\n"
                   + json.dumps(REPORTED)[:20])
    assert monitors.new_records("compute2") == [{"message": "monitors running"}]
    with log.open("a") as more:
        more.write(json.dumps(REPORTED)[20:] + "\n")
    assert monitors.new_records("compute2") == [REPORTED]
    assert monitors.new_records("compute2") == []


def test_a_monitors_last_words_are_its_own_records_on_one_line(tmp_path: Path) -> None:
    monitors = HostMonitors(MonitorSetup("etcd3+http://127.0.0.1:1", "", "q", "s", None, 10.0), tmp_path)
    monitors.log_path("compute3").write_text("")
    assert monitors.last_words("compute3") == "(nothing)"
    records = [{"time": "2026-12-05T07:34:41.99Z", "logger": "vmha.monitors.host.monitor",
                "message": "coordination engine unreachable", "error": "ConnectionTimeoutError: "},
               {"time": "2026-12-05T07:34:45.10Z", "logger": "sushy.connector", "message": "Authentication failed"},
               {"time": "2026-12-05T07:34:45.12Z", "logger": "vmha.monitors.host.monitor", **REPORTED}]
    monitors.log_path("compute3").write_text("".join(json.dumps(record) + "\n" for record in records))
    assert monitors.last_words("compute3") == (
        "07:34:41 coordination engine unreachable (error ConnectionTimeoutError: ); "
        "07:34:45 host reported (host compute1, reason its nova-compute has not reported to Nova for 10 s or more)")


def test_watch_shows_the_notification_received_and_the_power_off_the_bmc_confirmed(tmp_path: Path) -> None:
    lines: list[str] = []
    with open_journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        notification = new_notification("compute1", payload={"event": "STOPPED", "host_status": "UNKNOWN"})
        journal.record_notification(notification, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
        watch = Watch(journal, None, [], lines.append)
        assert not watch.poll()
        assert lines == []  # no notification to follow yet
        watch.notification_id = notification.id
        claim = journal.begin_step(StepKey(notification.id, "fence_host"), timedelta(seconds=60))
        assert isinstance(claim, StepClaim)
        journal.finish_step(claim, {"host": "compute1", "bmc": "redfish http://127.0.0.1:28101", "power": "off",
                                    "powered_off": True})
        journal.add_progress_event(notification.id, "fence_host", "succeeded", 1.0)
        watch.poll()
    assert lines[0] == (f"[detection]  vmha received COMPUTE_HOST {notification.id} from test: event STOPPED, "
                        "host_status UNKNOWN")
    assert lines[1:3] == [
        "[fencing]    fence_host: succeeded",
        "[fencing]    compute1 powered off through its BMC (redfish http://127.0.0.1:28101): the BMC confirms "
        "power off",
    ]
