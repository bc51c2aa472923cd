"""Return to service: the decisions (pure), the convergence one look at a time, and what a look records, on a
real journal (SQLite) and the fake Nova (Nova's services cannot be driven through every state here; the
integration test test_return_to_service runs the same code on the real Nova and BMC emulators)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from openstack import exceptions

from vmha.cloud.segments import ReturnMode, SegmentError, disabled_reason, parse_segment
from vmha.journal import Journal, NotificationStatus, StepClaim, StepKey, StepStatus
from vmha.outcomes import Done
from vmha.returns import ReturnRefusedError, Verdict, look_once, records, return_host
from vmha.returns.convergence import SPARE_REASON, converge
from vmha.returns.decision import Facts, decide
from vmha.runtime.consumer import Consumer
from vmha.runtime.services import Services

from .fake_nova import FakeCloud, FakeService, http_error
from .functions_support import settings
from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification

HOST, SPARE = "compute1", "compute3"
FAILED_AT = datetime(2026, 3, 1, 11, 59, tzinfo=UTC)


def facts(**changed: object) -> Facts:
    base: dict[str, object] = dict(
        host=HOST, notification_id="n1", recovery_status=NotificationStatus.FINISHED, recovery_under_way=None,
        reported_since_recovery=True, powered_on=True, power="redfish bmc reports the power on",
        mode=ReturnMode.AUTO, flap_window_seconds=3600, last_return=None, failed_at=FAILED_AT)
    return Facts(**{**base, **changed})  # type: ignore[arg-type]


def test_auto_returns_a_host_that_is_back() -> None:
    assert decide(facts()).verdict is Verdict.RETURN


def test_manual_holds_a_host_that_is_back_and_says_so() -> None:
    decision = decide(facts(mode=ReturnMode.MANUAL))
    assert decision.verdict is Verdict.HOLD
    assert "manual" in decision.reason


def test_a_host_failing_again_within_the_window_stays_out_with_the_reason() -> None:
    decision = decide(facts(last_return=FAILED_AT - timedelta(minutes=20)))
    assert decision.verdict is Verdict.HOLD
    assert "flaps" in decision.reason and "1200 s" in decision.reason


def test_a_failure_after_the_window_is_no_flap() -> None:
    assert decide(facts(last_return=FAILED_AT - timedelta(hours=2))).verdict is Verdict.RETURN


@pytest.mark.parametrize("changed", [{"powered_on": False}, {"recovery_under_way": "n2"},
                                     {"reported_since_recovery": False}])
def test_never_a_host_whose_bmc_says_off_or_under_recovery_or_silent_not_even_by_an_operator(
        changed: dict[str, object]) -> None:
    assert decide(facts(**changed)).verdict is Verdict.WAIT
    assert decide(facts(**changed), by_operator=True).verdict is Verdict.WAIT


def test_an_operator_returns_a_held_host() -> None:
    held = facts(mode=ReturnMode.MANUAL, last_return=FAILED_AT - timedelta(minutes=1),
                 recovery_status=NotificationStatus.FAILED)
    assert decide(held).verdict is Verdict.HOLD
    assert decide(held, by_operator=True).verdict is Verdict.RETURN


def test_a_failed_recovery_is_not_returned_automatically() -> None:
    decision = decide(facts(recovery_status=NotificationStatus.FAILED))
    assert decision.verdict is Verdict.HOLD
    assert "ended failed" in decision.reason


def test_segment_keys_parse_with_defaults_and_refuse_nonsense() -> None:
    default = parse_segment("s", (HOST,), {"vmha:enabled": "true"})
    assert (default.return_to_service, default.flap_window_seconds) == (ReturnMode.MANUAL, 3600)
    auto = parse_segment("s", (HOST,), {"vmha:return_to_service": "auto", "vmha:flap_window_seconds": "60"})
    assert (auto.return_to_service, auto.flap_window_seconds) == (ReturnMode.AUTO, 60)
    with pytest.raises(SegmentError):
        parse_segment("s", (HOST,), {"vmha:return_to_service": "sometimes"})
    with pytest.raises(SegmentError):
        parse_segment("s", (HOST,), {"vmha:flap_window_seconds": "an hour"})


def nova_stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat()


def recovered(journal: Journal, cloud: FakeCloud, clock: FakeClock,
              status: NotificationStatus = NotificationStatus.FINISHED, spare: str | None = None) -> str:
    """A host recovery of HOST ended with ``status``: its service forced down and disabled with vmha's mark."""
    new = new_notification(HOST, segment="seg")
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    journal.set_status(new.id, NotificationStatus.RUNNING)
    if spare is not None:
        claim = journal.begin_step(StepKey(new.id, "take_reserved_host"), timedelta(minutes=1))
        assert isinstance(claim, StepClaim)
        journal.finish_step(claim, {"reserved_host": spare, "previous_reason": "spare", "aggregates_added": []})
    journal.set_status(new.id, status)
    service = cloud.compute.service_by_host[HOST]
    service.is_forced_down, service.alive, service.status = True, False, "disabled"
    service.disabled_reason = disabled_reason("host failed", new.id)
    service.updated_at = nova_stamp(clock.now - timedelta(seconds=30))
    return new.id


def comes_back(service: FakeService, clock: FakeClock) -> None:
    clock.advance(timedelta(seconds=10))
    service.alive, service.updated_at = True, nova_stamp(clock.now)


def steps(journal: Journal, notification_id: str) -> dict[str, StepStatus]:
    detail = journal.get_notification(notification_id)
    assert detail is not None
    return {run.key.step_id: run.status for run in detail.steps}


@pytest.fixture
def cloud() -> FakeCloud:
    made = FakeCloud()
    made.compute.add_aggregate("seg", [HOST, "compute2"], {"vmha:reserved_hosts": SPARE,
                                                          "vmha:return_to_service": "auto"})
    return made


def test_convergence_lifts_forced_down_then_enables_only_after_a_new_report(
        journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    nid = recovered(journal, cloud, clock)
    service = cloud.compute.service_by_host[HOST]
    comes_back(service, clock)
    cloud.compute.fail_next("update_service", http_error(exceptions.BadRequestException, 400, "evacuations"))

    def once() -> tuple[object, bool, str]:
        detail = journal.get_notification(nid)
        assert detail is not None
        return converge(cloud, journal, detail), service.is_forced_down, service.status

    assert once() == (None, True, "disabled")  # Nova refused: evacuation records not completed
    assert once() == (None, False, "disabled")
    assert once() == (None, False, "disabled")  # un-forced: the record's time is kept
    assert once() == (None, False, "disabled")  # no report since
    comes_back(service, clock)
    assert once() == ({"host": HOST, "enabled": True, "reserved_host_back": None}, False, "enabled")
    assert service.disabled_reason is None
    assert (service.status, service.disabled_reason) == ("enabled", None)


def test_an_unused_reserved_host_goes_back_to_reserve_a_used_one_stays(
        journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    nid = recovered(journal, cloud, clock, spare=SPARE)
    service, spare = cloud.compute.service_by_host[HOST], cloud.compute.service_by_host[SPARE]
    records.record_once(journal, nid, records.UNFORCED, {"updated_at": "before"})
    service.is_forced_down = False
    comes_back(service, clock)
    server = cloud.compute.add_server(SPARE)
    detail = journal.get_notification(nid)
    assert detail is not None
    assert converge(cloud, journal, detail) == {"host": HOST, "enabled": True, "reserved_host_back": None}
    assert spare.status == "enabled"
    del cloud.compute.server_by_id[server.id]
    assert converge(cloud, journal, detail) == {"host": HOST, "enabled": False, "reserved_host_back": SPARE}
    assert (spare.status, spare.disabled_reason) == ("disabled", "spare")
    assert SPARE_REASON  # the reason when the spare had none


def test_a_look_waits_for_a_bmc_that_does_not_report_the_power_on(
        journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    nid = recovered(journal, cloud, clock)
    comes_back(cloud.compute.service_by_host[HOST], clock)
    looks = look_once(settings(fencing_file=""), journal, cloud)
    assert [(look.host, look.verdict) for look in looks] == [(HOST, Verdict.WAIT)]
    assert "does not report the power on" in looks[0].reason
    assert steps(journal, nid) == {}
    assert cloud.compute.service_by_host[HOST].is_forced_down
    with pytest.raises(ReturnRefusedError) as refused:
        return_host(settings(fencing_file=""), journal, cloud, HOST)
    assert refused.value.status == 409


def test_a_look_waits_while_the_host_has_not_reported(journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    recovered(journal, cloud, clock)
    clock.advance(timedelta(seconds=5))
    looks = look_once(settings(fencing_file=""), journal, cloud)
    assert "has not reported" in looks[0].reason


def test_a_look_ignores_a_mark_of_another_journal(journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    service = cloud.compute.service_by_host[HOST]
    service.status, service.disabled_reason = "disabled", disabled_reason("x", "6f1b7a52-3f0e-4d59-a1b4-0a5d5c2f8e11")
    assert look_once(settings(), journal, cloud) == []


@pytest.mark.parametrize(("host", "status", "says"), [
    ("compute9", 404, "no nova-compute"), ("compute3", 404, "no vmha segment"),
    ("compute2", 409, "not out of service")])
def test_an_operator_return_of_a_host_it_cannot_return_is_refused(
        journal: Journal, cloud: FakeCloud, host: str, status: int, says: str) -> None:
    cloud.compute.aggregate_list[0].metadata = {"vmha:enabled": "true"}
    with pytest.raises(ReturnRefusedError) as refused:
        return_host(settings(), journal, cloud, host)
    assert refused.value.status == status
    assert says in str(refused.value)


def test_each_record_is_written_once_whoever_looks(journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    nid = recovered(journal, cloud, clock)
    assert records.record_once(journal, nid, records.HELD, {"reason": "first"})
    assert not records.record_once(journal, nid, records.HELD, {"reason": "second replica"})
    claim = records.claim_return(journal, nid)
    assert claim is not None
    assert records.claim_return(journal, nid) is None  # another replica's look while this one converges
    detail = journal.get_notification(nid)
    assert detail is not None
    assert records.result(detail, records.HELD) == {"reason": "first"}


def test_the_last_return_is_read_from_the_hosts_earlier_recoveries(
        journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    earlier = recovered(journal, cloud, clock)
    claim = records.claim_return(journal, earlier)
    assert claim is not None
    journal.finish_step(claim, {"host": HOST, "by": "auto"})
    returned_at = clock.now
    clock.advance(timedelta(minutes=20))
    failed_again = clock.now
    assert records.last_return(journal, HOST, failed_again, 3600) == returned_at
    assert records.last_return(journal, HOST, failed_again, 600) is None  # returned before the window
    assert records.last_return(journal, "compute2", failed_again, 3600) is None



def test_a_return_long_after_its_failure_counts_from_the_return(
        journal: Journal, cloud: FakeCloud, clock: FakeClock) -> None:
    earlier = recovered(journal, cloud, clock)
    clock.advance(timedelta(days=3))  # out of service for days, returned now
    claim = records.claim_return(journal, earlier)
    assert claim is not None
    journal.finish_step(claim, {"host": HOST, "by": "operator"})
    assert records.last_return(journal, HOST, clock.now + timedelta(minutes=1), 3600) == clock.now


def test_the_sweeper_runs_the_sweep_hook_and_only_logs_its_failure(
        journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[object, ...]] = []

    def hook(*args: object) -> None:
        seen.append(args)
        raise RuntimeError("Nova is away")

    cloud = FakeCloud()
    services = Services(settings(), journal, None, {}, lambda *args: Done(), cloud,  # type: ignore[arg-type]
                        on_sweep=hook)
    Consumer(services).look_once()
    assert seen == [(services.settings, journal, cloud)]
    assert "the sweep hook failed" in caplog.text
