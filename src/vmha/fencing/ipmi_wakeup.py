"""A mend for a lost wake-up in pyghmi's IPMI client (1.6.19 and earlier): without it, a fence waits up to a second
for an answer its BMC gave at once.

pyghmi sends a request, then registers with its I/O thread to be woken when the BMC's address has data. When the
BMC answers before the caller has registered (a fast BMC, a busy process whose thread switch came between the
two), the I/O thread has already queued the answer on the session, and nothing wakes the caller until its
retransmission timer fires, 0.5 to 1.0 s later. The answer is then taken from the queue as if it had just come.

``install`` makes a wait for a BMC's answer return at once when an answer from that BMC is already queued, so the
caller handles it now. Only the answer wait is mended (pyghmi calls it without an event queue); the wait for a
command slot (with one) is left as it is, for it does not handle the queue itself. A queued answer ends one wait
only: if it is still there at the next wait (another session's, which this caller does not handle), that wait
sleeps as before instead of spinning. The mend changes nothing when pyghmi no longer has what it wraps. It is
installed once per process, when a power driver first opens an IPMI session.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from pyghmi.ipmi.private import session as ipmi_session

_installed = threading.Lock()
_MARK = "_vmha_wakes_queued_answers"


class QueuedAnswers:
    """The answers pyghmi's I/O thread has queued per BMC address, and which of them already ended a wait."""

    def __init__(self) -> None:
        self._woken_for: dict[Any, tuple[object, ...]] = {}

    def new_since_last_wake(self, address: Any) -> bool:
        """Whether a session with the BMC at ``address`` has a queued answer that has not ended a wait yet
        (and remember it as having ended this one)."""
        handlers = ipmi_session.Session.bmc_handlers.get(address, {})
        queues = [getattr(session, "pktqueue", None) for session in list(handlers.values())]
        heads = tuple(_head(queue) for queue in queues if queue)
        woken = self._woken_for.get(address, ())
        if not heads or (len(heads) == len(woken) and all(a is b for a, b in zip(heads, woken, strict=True))):
            return False
        self._woken_for[address] = heads
        return True


def install() -> bool:
    """Wrap pyghmi's I/O wait once per process; False when this pyghmi lacks what the mend relies on."""
    with _installed:
        wait = getattr(ipmi_session, "_io_wait", None)
        if wait is None or not hasattr(ipmi_session.Session, "bmc_handlers"):
            return False
        if not getattr(wait, _MARK, False):
            ipmi_session._io_wait = waking(wait, QueuedAnswers())
        return True


def waking(wait: Callable[..., None], answers: QueuedAnswers) -> Callable[..., None]:
    """``wait`` (pyghmi's I/O wait, kept as ``__wrapped__``), returning at once to a caller awaiting an answer
    already queued."""

    @functools.wraps(wait)
    def io_wait(timeout: float, myaddr: Any = None, evq: Any = None) -> None:
        if myaddr is not None and evq is None and answers.new_since_last_wake(myaddr):
            return
        wait(timeout, myaddr, evq)

    setattr(io_wait, _MARK, True)
    return io_wait


def _head(queue: Any) -> object:
    try:
        return queue[0]
    except IndexError:  # handled by another thread meanwhile
        return None
