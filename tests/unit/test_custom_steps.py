"""The operator's own steps: where the custom flows file may put them, and a webhook step against the shipped
example receiver (examples/webhook_receiver.py) and small receivers of bad answers, all on loopback."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.webhook_support import example_receiver, serving
from vmha.context import RunContext
from vmha.contracts import ContractError, CustomStep, StepKind, StepMessage, parse_custom_flows
from vmha.functions import after_failure
from vmha.functions.custom_steps import custom_table, guarded, placement_problems
from vmha.functions.registry import STEPS, operator_steps
from vmha.functions.webhook_step import webhook_step
from vmha.journal import StepStatus
from vmha.outcomes import Done, Fail, Outcome, Retry
from vmha.signing import signed_text

from .functions_support import World, host_down, make_world, settings, vm_failed
from .journal_support import FakeClock

SECRET = "cs-secret"
BRANCH = ["plan_evacuation", "evacuate_instance", "confirm_instance_evacuated"]
PER_INSTANCE = {key: spec.per_instance for key, spec in STEPS.items()}


def host_flow(post: list[str], steps: dict[str, Any], on_failure: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"steps": steps, "COMPUTE_HOST": {"auto": {"pre": ["fence_host", "disable_compute_service"],
                                                      "main": BRANCH[:1], "post": [*BRANCH[1:], *post],
                                                      "on_failure": list(on_failure)}}}


def problems(document: dict[str, Any], secret: str = SECRET) -> list[str]:
    flows = parse_custom_flows(document, STEPS)
    return placement_problems(flows, settings(custom_steps={"webhook_secret": secret}), PER_INSTANCE)


HOOK = {"webhook": "http://127.0.0.1:9/hook"}
NOTE = {"entry_point": "note_instance", "per_instance": True}


def test_custom_steps_stand_per_instance_after_the_evacuation_and_after_the_whole_recovery() -> None:
    document = host_flow(["finish_host_recovery", "cs_after"], {"cs_note": NOTE, "cs_after": HOOK, "cs_bad": HOOK},
                         on_failure=("cs_bad",))
    document["COMPUTE_HOST"]["auto"]["post"][1:1] = ["cs_note"]
    assert problems(document) == []
    flows = parse_custom_flows(document, STEPS)
    assert flows.steps["cs_note"] == CustomStep("cs_note", StepKind.ENTRY_POINT, "note_instance", True, 10, 3)
    assert flows.host_auto is not None and flows.host_auto.on_failure == ("cs_bad",)


@pytest.mark.parametrize(("post", "steps", "expected"), [
    (["finish_host_recovery"], {"fence_host": HOOK}, "has the id of a built-in step"),
    (["finish_host_recovery", "cs_note"], {"cs_note": NOTE}, "must follow a per-instance step"),
    (["cs_after", "finish_host_recovery"], {"cs_after": HOOK}, "cannot end a branch"),
])
def test_a_custom_step_where_it_may_not_stand_is_refused(post: list[str], steps: dict[str, Any],
                                                          expected: str) -> None:
    assert any(expected in problem for problem in problems(host_flow(post, steps)))


def test_on_failure_takes_custom_steps_of_the_whole_recovery_only() -> None:
    with pytest.raises(ContractError, match="on_failure lists custom steps only, not the built-in step fence_host"):
        parse_custom_flows(host_flow(["finish_host_recovery"], {}, on_failure=("fence_host",)), STEPS)
    found = problems(host_flow(["finish_host_recovery"], {"cs_note": NOTE}, on_failure=("cs_note",)))
    assert found == ["COMPUTE_HOST/auto: on_failure runs once per recovery: cs_note is per-instance"]


def test_a_webhook_step_needs_an_http_url_and_the_signing_key() -> None:
    with pytest.raises(ContractError, match=r"the webhook .ftp://127.0.0.1/x. is not an http\(s\)://host"):
        parse_custom_flows(host_flow([], {"cs_hook": {"webhook": "ftp://127.0.0.1/x"}}), STEPS)
    with pytest.raises(ContractError, match="is not an http"):
        parse_custom_flows(host_flow([], {"cs_hook": {"webhook": "http://127.0.0.1:port/x"}}), STEPS)
    assert "webhook steps need custom_steps.webhook_secret" in problems(host_flow([], {"cs_hook": HOOK}), "")[0]


def test_an_entry_point_that_is_not_installed_fails_the_start(tmp_path: Path) -> None:
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps(host_flow([], {"cs_gone": {"entry_point": "cs_not_installed"}})))
    with pytest.raises(ContractError, match=r"no entry point 'cs_not_installed' in the group vmha.steps \(installed: "
                                            r".*note_instance"):
        operator_steps(settings(custom_flows_file=str(flows_file)))


def test_the_installed_example_entry_point_loads_with_its_policy() -> None:
    flows = parse_custom_flows(host_flow([], {"cs_note": NOTE | {"max_attempts": 5}}), STEPS)
    spec = custom_table(flows, settings())["cs_note"]
    assert (spec.kind, spec.per_instance, spec.timeout_seconds) == (StepKind.ENTRY_POINT, True, 10)
    assert spec.retry is not None and spec.retry.max_attempts == 5


@pytest.fixture
def world(journal: Any, clock: FakeClock) -> World:
    return make_world(journal, clock, custom_steps={"webhook_secret": SECRET})


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    with example_receiver(monkeypatch, SECRET) as served:
        yield served


def call(world: World, url: str, timeout: int = 10) -> Outcome:
    notification = world.notification(host_down())
    message = StepMessage(notification.id, "cs_hook", 1, ("cs_hook",), 0, world.clock() + timedelta(hours=1),
                          uuid.uuid4())
    return call_with(world, url, message, notification, timeout)


def call_with(world: World, url: str, message: StepMessage, notification: Any, timeout: int = 10) -> Outcome:
    step = CustomStep("cs_hook", StepKind.WEBHOOK, url, True, timeout, 3)
    context: RunContext = world.context(notification)
    return webhook_step(step)(message, context)


def test_the_example_receiver_makes_its_effect_once_per_idempotency_key(world: World,
                                                                        example: tuple[str, Any]) -> None:
    url, module = example
    world.clock.now = datetime.now(UTC)  # the receiver checks the call's age on the real clock
    notification = world.notification(host_down())
    message = StepMessage(notification.id, "cs_hook", 1, ("cs_hook",), 0, world.clock() + timedelta(hours=1),
                          uuid.uuid4())
    first = call_with(world, url, message, notification)
    again = call_with(world, url, dataclasses.replace(message, attempt=2), notification)
    assert isinstance(first, Done) and first == again and "done_at" in first.result
    assert list(module.answers) == [message.idempotency_key]


def answering(status: int, body: bytes, headers: Callable[[str, bytes], dict[str, str]] = lambda *_: {},
              delay: threading.Event | None = None) -> type[BaseHTTPRequestHandler]:
    """A receiver answering every call ``status`` with ``body`` and ``headers(idempotency key, body)``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            if delay is not None:
                delay.wait(5)
            self.send_response(status)
            for name, value in headers(self.headers["Idempotency-Key"], body).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def test_retry_answers_wait_their_retry_after_and_errors_fail_with_the_receivers_text(world: World) -> None:
    with serving(answering(503, b"busy", lambda *_: {"Retry-After": "7"})) as url:
        outcome = call(world, url)
        assert isinstance(outcome, Retry) and outcome.delay == 7 and "answered 503: busy" in outcome.reason
    with serving(answering(422, b'{"error": "cs: no ticket queue for this tenant"}')) as url:
        outcome = call(world, url)
        assert isinstance(outcome, Fail)
        assert outcome.reason.endswith("answered 422: cs: no ticket queue for this tenant")


def test_an_unsigned_or_late_answer_is_refused(world: World) -> None:
    with serving(answering(200, b"{}")) as url:
        outcome = call(world, url)
        assert isinstance(outcome, Fail) and "the answer is unsigned" in outcome.reason

    def signed_long_ago(key: str, body: bytes) -> dict[str, str]:
        stamp = str(int(world.clock().timestamp()) - 3600)
        return {"X-Vmha-Timestamp": stamp, "X-Vmha-Signature": signed_text(SECRET, stamp, key, body.decode())}

    with serving(answering(200, b"{}", signed_long_ago)) as url:
        outcome = call(world, url)
        assert isinstance(outcome, Fail) and "the answer is late: signed 3600 s away" in outcome.reason

    def signed_with_another_key(key: str, body: bytes) -> dict[str, str]:
        stamp = str(int(world.clock().timestamp()))
        return {"X-Vmha-Timestamp": stamp, "X-Vmha-Signature": signed_text("another", stamp, key, body.decode())}

    with serving(answering(200, b"{}", signed_with_another_key)) as url:
        outcome = call(world, url)
        assert isinstance(outcome, Fail) and "signature does not match" in outcome.reason


def test_a_slow_receiver_is_retried_and_a_call_over_the_size_limit_fails(world: World) -> None:
    hold = threading.Event()
    with serving(answering(200, b"{}", delay=hold)) as url:
        outcome = call(world, url, timeout=1)
        hold.set()
        assert isinstance(outcome, Retry) and "did not answer" in outcome.reason
    limit = dataclasses.replace(world.settings.custom_steps, max_payload_bytes=100)  # below the schema's minimum
    world.settings = dataclasses.replace(world.settings, custom_steps=limit)
    outcome = call(world, "http://127.0.0.1:9/never-called")
    assert isinstance(outcome, Fail) and "over custom_steps.max_payload_bytes (100)" in outcome.reason


def test_a_custom_step_after_fencing_runs_without_the_fencing_file_and_may_not_undo_it(world: World) -> None:
    """On the fake Nova (no host can be fenced here): the host's nova-compute as disable_compute_service leaves it."""
    service = world.nova.service_by_host["compute1"]
    service.status, service.is_forced_down = "disabled", True
    notification = world.notification(host_down())
    flow = ("fence_host", "disable_compute_service", "cs_step", "finish_host_recovery")
    message = StepMessage(notification.id, "cs_step", 1, flow, 2, world.clock() + timedelta(hours=1))
    seen: list[str] = []

    def look(_: StepMessage, ctx: Any) -> Outcome:
        seen.append(ctx.settings.fencing_file)
        return Done()

    def undo(_: StepMessage, ctx: Any) -> Outcome:
        ctx.cloud.compute.update_service(service, status="enabled", forced_down=False)
        return Done()

    world.settings = dataclasses.replace(world.settings, fencing_file="/etc/vmha/fencing.yaml")
    context = world.context(notification)
    assert context.settings.fencing_file and guarded("cs_step", look)(message, context) == Done() and seen == [""]
    outcome = guarded("cs_step", undo)(message, context)
    assert isinstance(outcome, Fail)
    assert outcome.reason == ("the custom step cs_step left the fenced host compute1's nova-compute enabled and up: "
                              "a step after fencing may not undo it")


def test_on_failure_steps_run_once_each_after_the_servers_are_released(
        world: World, example: tuple[str, Any], tmp_path: Path) -> None:
    url, module = example
    world.clock.now = datetime.now(UTC)  # the receiver checks the call's age on the real clock
    flows_file = tmp_path / "flows.json"
    flows_file.write_text(json.dumps({"steps": {"cs_page": {"webhook": url}}, "VM": {
        "pre": ["stop_instance"], "main": ["start_instance"], "post": ["confirm_instance_active"],
        "on_failure": ["cs_page"]}}))
    world.settings = dataclasses.replace(world.settings, custom_flows_file=str(flows_file))
    notification = world.recorded(vm_failed(str(uuid.uuid4())))
    record = world.journal.get_notification_record(str(notification.id))
    assert record is not None
    for _ in range(2):  # a second failing call (a redelivery) finds the run recorded
        after_failure(record, world.context(notification))
    assert list(module.answers) == [f"{notification.id}/cs_page"]
    detail = world.journal.get_notification(str(notification.id))
    assert detail is not None
    assert [(run.key.step_id, run.status) for run in detail.steps] == [("cs_page", StepStatus.SUCCEEDED)]
    assert [event.message for event in detail.events if event.step_id == "cs_page"] == [
        "on_failure: attempt 1 started", "on_failure: succeeded"]
