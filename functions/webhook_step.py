"""A webhook step of the operator's (``custom_flows.schema.json`` ``steps``): one signed HTTP(S) POST of the call
(``custom_step_call.schema.json``), its answer mapped to the step's Outcome.

The call carries ``Idempotency-Key`` (the step message's, the same on every attempt and redelivery) and is signed
with ``custom_steps.webhook_secret`` (``vmha.signing.signed_text`` over ``<timestamp>\\n<body>``). Answers:

- 2xx: Done, with the answer's ``{"result": {...}}`` recorded, if the answer is signed over ``<its timestamp>\\n
  <idempotency key>\\n<body>`` and its timestamp is within ``custom_steps.answer_max_age_seconds`` of ours: an
  unsigned or late 2xx fails the step (it is what moves a recovery on, so it must come from the receiver and
  from this call). Other answers are read unsigned: they never move a recovery on.
- 409 and 503: Retry after ``Retry-After`` (seconds or an HTTP date; else the retry policy's delay).
- other 4xx, a redirect (not followed), an answer over ``custom_steps.max_answer_bytes``, a call over
  ``custom_steps.max_payload_bytes``: Fail with the reason, the receiver's own text quoted.
- 5xx, no answer within the step's timeout, a connection refused: Retry; the step's ``max_attempts`` bound them.

No proxy from the environment is used; every call has a timeout.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

from vmha.context import StepContext
from vmha.contracts import CustomStep, StepMessage
from vmha.contracts.secrets import masked_url
from vmha.contracts.validation import check, format_timestamp
from vmha.functions.nova import StepRun
from vmha.outcomes import Done, Fail, Outcome, Retry
from vmha.signing import same_signature, signed_text

RETRY_STATUSES = frozenset({409, 503})
TIMESTAMP = "X-Vmha-Timestamp"
SIGNATURE = "X-Vmha-Signature"
QUOTED_CHARACTERS = 500
"""At most this much of a receiver's error text goes into a step's reason."""
_CALL_SHARE = 0.8
"""The HTTP exchange gets this share of the step's timeout, so the step itself answers a slow receiver."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any) -> None:
        return None  # the 3xx then reaches the caller as an HTTPError


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def webhook_step(step: CustomStep) -> StepRun:
    """The step run of ``step``, a webhook step."""

    def run(message: StepMessage, ctx: StepContext) -> Outcome:
        options = ctx.settings.custom_steps
        where = f"webhook step {step.id} ({masked_url(step.target)})"
        body = json.dumps(call(message, ctx), separators=(",", ":")).encode()
        if len(body) > options.max_payload_bytes:
            return Fail(f"{where}: the call is {len(body)} bytes, over custom_steps.max_payload_bytes "
                        f"({options.max_payload_bytes})")
        stamp = str(int(ctx.now().timestamp()))
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key,
                   TIMESTAMP: stamp, SIGNATURE: signed_text(options.webhook_secret, stamp, body.decode())}
        request = urllib.request.Request(step.target, body, headers, method="POST")
        try:
            answer = _exchange(request, step.timeout_seconds * _CALL_SHARE, options.max_answer_bytes)
        except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
            return Retry(f"{where} did not answer: {getattr(error, 'reason', error)}", 0)
        if answer is None:
            return Fail(f"{where}: the answer is longer than custom_steps.max_answer_bytes "
                        f"({options.max_answer_bytes})")
        return outcome_of(answer, where, message.idempotency_key, ctx)

    run.__name__ = step.id
    return run


def call(message: StepMessage, ctx: StepContext) -> dict[str, Any]:
    """The call's body (``custom_step_call.schema.json``)."""
    notification = ctx.notification.to_dict()
    document = {
        "version": 1, "idempotency_key": message.idempotency_key, "step": message.step, "attempt": message.attempt,
        "instance_uuid": None if message.instance_uuid is None else str(message.instance_uuid),
        "deadline": format_timestamp(message.deadline),
        "notification": {key: notification[key] for key in ("id", "type", "hostname", "generated_time", "payload")},
    }
    check("custom_step_call", document)
    return document


def _exchange(request: urllib.request.Request, timeout: float, limit: int) -> Answer | None:
    """The answer (None: longer than ``limit`` bytes); OSError (URLError, a timeout) or HTTPException when there is
    none in time or it is not HTTP."""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, headers, body = response.status, response.headers, response.read(limit + 1)
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read(limit + 1)
        error.close()
    return None if len(body) > limit else Answer(status, headers, body)


def outcome_of(answer: Answer, where: str, key: str, ctx: StepContext) -> Outcome:
    """The step's outcome for ``answer`` (see the module docstring)."""
    status = answer.status
    if 200 <= status < 300:
        problem = _signature_problem(answer, key, ctx)
        return Fail(f"{where}: {problem}") if problem else Done(_result(answer.body))
    said = f"{where} answered {status}: {error_text(answer.body)}"
    if status in RETRY_STATUSES:
        return Retry(said, retry_after(answer.headers.get("Retry-After"), ctx.now().timestamp()))
    if status >= 500:
        return Retry(said, 0)
    return Fail(said)


def _signature_problem(answer: Answer, key: str, ctx: StepContext) -> str | None:
    options = ctx.settings.custom_steps
    stamp, given = answer.headers.get(TIMESTAMP, ""), answer.headers.get(SIGNATURE, "")
    if not stamp.isdigit() or not given:
        return f"the answer is unsigned (no {TIMESTAMP} and {SIGNATURE}): refused"
    expected = signed_text(options.webhook_secret, stamp, key, answer.body.decode("utf-8", "surrogateescape"))
    if not same_signature(given, expected):
        return "the answer's signature does not match (another key, or not this call's answer): refused"
    age = abs(ctx.now().timestamp() - int(stamp))
    if age > options.answer_max_age_seconds:
        return (f"the answer is late: signed {age:.0f} s away from the gateway's clock, more than "
                f"custom_steps.answer_max_age_seconds ({options.answer_max_age_seconds})")
    return None


def _result(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body) if body.strip() else {}
    except ValueError:
        return {}
    result = document.get("result") if isinstance(document, Mapping) else None
    return dict(result) if isinstance(result, Mapping) else {}


def error_text(body: bytes) -> str:
    """The receiver's own error: ``{"error": "..."}``'s text, or the body's text, shortened."""
    text = body.decode("utf-8", "replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, Mapping) and isinstance(document.get("error"), str):
        text = document["error"]
    return text[:QUOTED_CHARACTERS] or "(no text)"


def retry_after(value: str | None, now: float) -> float:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date, from ``now``, Unix time); 0 without
    a usable one."""
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, moment.timestamp() - now)
