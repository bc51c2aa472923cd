"""The gateway's request ids reach Nova: Nova's own log (the local cloud's nova.log, its request log lines
``[global_request_id request_id ...]``) shows the API request's id on the calls made while serving it (the
caller's X-OpenStack-Request-ID when it sent one, else the gateway's own, the one its answer carries), and a
recovery step's id on the calls of the step."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from tests.runtime_steps import Effects, TestStep, intake, make_table
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.journal import NotificationStatus
from vmha.outcomes import Done, Outcome

from .api_support import Running, api_settings, serving
from .runtime_support import Place, wait_ended


class NovaLog:
    """Nova's log from now on (every Nova service of the local cloud writes to it)."""

    def __init__(self, layout: Layout) -> None:
        self.path = layout.log / "nova.log"
        self.start = self.path.stat().st_size

    def request_lines(self, global_request_id: str) -> list[str]:
        """Nova API request log lines whose global request id is ``global_request_id``."""
        with self.path.open("rb") as log:
            log.seek(self.start)
            lines = log.read().decode(errors="replace").splitlines()
        return [line for line in lines if "nova.api.openstack.requestlog" in line and f"[{global_request_id} " in line]


def read_nova(message: StepMessage, ctx: StepContext) -> Outcome:
    """A step reading Nova, as recovery steps do."""
    next(iter(ctx.cloud.compute.aggregates()), None)
    return Done({"request_id": ctx.request_id})


@pytest.fixture
def api(cloud_layout: Layout, place: Place, tmp_path: Path) -> Iterator[Running]:
    table = {**make_table(Effects(tmp_path / "effects")), "read_nova": TestStep("read_nova", read_nova)}
    with serving(cloud_layout, api_settings(place), table, intake) as running:
        yield running


def test_nova_logs_the_api_request_and_the_step_ids(api: Running, place: Place, cloud_layout: Layout) -> None:
    nova = NovaLog(cloud_layout)
    given = f"req-{uuid.uuid4()}"
    assert api.call("GET", "/v1/segments", headers={"X-OpenStack-Request-ID": given}).status_code == 200
    own = api.call("GET", "/v1/segments")
    assert own.status_code == 200
    local = own.headers["X-OpenStack-Request-ID"]

    notification_id = place.notify("flow:read_nova")
    detail = wait_ended(api.gateway.services.journal, notification_id)
    assert detail.notification.status is NotificationStatus.FINISHED
    (step,) = detail.steps
    assert step.result is not None
    step_id = step.result["request_id"]

    for request_id in (given, local, step_id):
        assert wait_until(lambda: bool(nova.request_lines(request_id)), 10, 0.2), request_id  # noqa: B023
        assert all('"GET /v2.1/os-aggregates"' in line for line in nova.request_lines(request_id))
