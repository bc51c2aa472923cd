"""What every step shares about Nova: service and server reads, and the exception boundary.

Steps call openstacksdk through ``ctx.cloud`` (pinned to ``vmha.context.COMPUTE_MICROVERSION``) and let
its exceptions reach ``at_boundary``, which maps them to outcomes: 408, 409 and 429 are temporary (``Retry``
after the recheck interval, which the runtime stretches by the step's own retry policy: a polling step's many
attempts do not grow its wait), 5xx and connection failures are an outage (``Retry(outage=True)``: tried again
every few seconds until the notification's deadline, attempts not counted), any other HTTP error is final
(``Fail``), and
so is a segment that vanished or became invalid meanwhile (``SegmentError``: retrying cannot mend
configuration).
A step that expects a particular final error, such as a deleted server, catches it itself first. A step
that finds its subject missing raises ``StepFailedError`` (``failed_host_service``, ``notified_server``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from keystoneauth1 import exceptions as keystone_errors
from openstack import exceptions as sdk_errors

from vmha.cloud.nova import compute_service, get_server
from vmha.cloud.segments import SegmentError
from vmha.context import StepContext
from vmha.contracts import StepMessage, VmPayload
from vmha.outcomes import Fail, Outcome, Retry

NotFound = sdk_errors.NotFoundException
Conflict = sdk_errors.ConflictException
BadRequest = sdk_errors.BadRequestException
_TEMPORARY_STATUSES = frozenset({408, 409, 429})

StepRun = Callable[[StepMessage, StepContext], Outcome]


class StepFailedError(Exception):
    """The step cannot succeed however often it runs; ``at_boundary`` makes it a Fail with this message."""


def error_outcome(error: Exception, delay: float) -> Retry | Fail:
    """The outcome of an openstacksdk/keystoneauth exception escaping a step."""
    if isinstance(error, sdk_errors.HttpException):
        status = error.status_code
        text = f"Nova answered {status}: {error.details or error.message}"
        if status is None or status >= 500:
            return Retry(text, delay, outage=True)
        if status in _TEMPORARY_STATUSES:
            return Retry(text, delay)
        return Fail(text)
    return Retry(f"cannot reach OpenStack: {error}", delay, outage=True)


BOUNDARY_ERRORS = (sdk_errors.HttpException, keystone_errors.ConnectionError)

FIRST_RECHECK_SECONDS = 0.1
"""A step waiting for Nova looks again this soon after its first look, then twice as long each time up to
``retry.recheck_interval_seconds``: quick changes (a fake or idle host) are seen within a tenth of a second,
slow ones cost no more requests than a fixed interval."""


def recheck_delay(ctx: StepContext, message: StepMessage) -> float:
    """How long a step waiting for Nova waits before attempt ``message.attempt + 1`` (see FIRST_RECHECK_SECONDS)."""
    growth: float = FIRST_RECHECK_SECONDS * 2.0 ** min(message.attempt - 1, 32)
    return min(ctx.settings.retry.recheck_interval_seconds, growth)


def at_boundary(run: StepRun) -> StepRun:
    """Wrap a step so that OpenStack errors become outcomes (see the module docstring)."""

    @functools.wraps(run)
    def guarded(message: StepMessage, ctx: StepContext) -> Outcome:
        try:
            return run(message, ctx)
        except BOUNDARY_ERRORS as error:
            return error_outcome(error, ctx.settings.retry.recheck_interval_seconds)
        except (SegmentError, StepFailedError) as error:
            return Fail(str(error))

    return guarded


def failed_host_service(ctx: StepContext) -> Any:
    """The nova-compute service of the notification's host; StepFailedError if Nova has none."""
    host = ctx.notification.hostname
    service = compute_service(ctx.cloud, host)
    if service is None:
        raise StepFailedError(f"Nova has no nova-compute service on host {host}")
    return service


def notified_server(ctx: StepContext, step: str) -> Any:
    """The server of the VM notification; StepFailedError if it is not a VM one or the server is gone."""
    payload = ctx.notification.payload
    if not isinstance(payload, VmPayload):
        raise StepFailedError(f"{step} handles VM notifications only")
    server = get_server(ctx.cloud, payload.instance_uuid)
    if server is None:
        raise StepFailedError(f"server {payload.instance_uuid} no longer exists")
    return server
