"""Run one step body with a timeout, turning every way it can go wrong into a Retry (an outage's when what it
raised says a dependency is down: ``vmha.runtime.poison.is_outage``).

Python cannot stop a thread: a step still running at its timeout is left to finish in its daemon thread
while the runtime counts the attempt as failed. Steps converge rather than command, and the journal lease
keeps the retry from starting before the lease (timeout + margin) has run out.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from vmha.outcomes import Done, Fail, Ignore, Recover, Retry, Skipped
from vmha.runtime.poison import describe, is_outage

log = logging.getLogger(__name__)

STEP_OUTCOMES: tuple[type, ...] = (Done, Skipped, Retry, Fail, Ignore)
INTAKE_OUTCOMES: tuple[type, ...] = (Recover, Ignore, Fail, Retry)
_O = TypeVar("_O")


def execute(body: Callable[[], _O], timeout: float, name: str, labels: Mapping[str, Any],
            kinds: tuple[type, ...] = STEP_OUTCOMES) -> _O | Retry:
    """``body()``'s outcome; Retry(delay=0) when it raises, times out or returns something not of ``kinds``. The
    body runs in a copy of the caller's context (the request id its calls carry: ``vmha.cloud.request_ids``)."""
    box: list[object] = []  # what came back, checked below: steps are plugins

    def run() -> None:
        try:
            box.append(body())
        except Exception as error:  # a step's bug or an unmapped client error: retried, never fatal
            box.append(error)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name=f"step-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        log.error("step timed out", extra={**labels, "timeout_seconds": timeout})
        return Retry(f"timed out after {timeout:g} s", 0)
    result = box[0]
    if isinstance(result, BaseException):
        if is_outage(result):
            log.warning("step held up by an outage", extra={**labels, "error": describe(result)})
            return Retry(f"a dependency is down: {describe(result)}", 0, outage=True)
        log.error("step raised", exc_info=result, extra=dict(labels))
        return Retry(f"raised {type(result).__name__}: {result}", 0)
    if not isinstance(result, kinds):
        log.error("step returned a non-outcome", extra={**labels, "returned": repr(result)[:200]})
        return Retry(f"returned {type(result).__name__}, not an outcome", 0)
    return cast(_O, result)
