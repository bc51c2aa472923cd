"""pyghmi's lost wake-up provoked on every request, in a process of its own: ``python -m
tests.integration.ipmi_race with|without FENCING_YAML HOST READS`` reads the host's power state READS times
through vmha's IPMI driver, with or without ``vmha.fencing.ipmi_wakeup``, and prints JSON: the states read and
how many callers went to sleep with their BMC's answer already queued (each such sleep lasts until pyghmi's
retransmission timer, 0.5 to 1.0 s).

Each send is followed by a pause until pyghmi's I/O thread has queued the BMC's answer, so the race that happens
now and then under load happens every time. A process of its own: in a shared one, threads left in pyghmi by
earlier callers (a call abandoned at its timeout goes on running pyghmi's event loop) take answers off the queues
as they come, and the provocation would depend on what ran before.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from pyghmi.ipmi.private import session as ipmi_session

from vmha.fencing import ipmi_wakeup, load_fencing_config, power_driver

ANSWER_WAIT_SECONDS = 2.0
"""How long a send waits for its answer to be queued before the caller goes on."""


def answer_queued(address: Any) -> bool:
    return any(session.pktqueue for session in ipmi_session.Session.bmc_handlers.get(address, {}).values())


class CountedWaits:
    """pyghmi's own I/O wait, counting the callers that go to sleep with their BMC's answer already queued."""

    def __init__(self, wait: Callable[..., None]) -> None:
        self._wait = wait
        self.asleep_on_a_queued_answer = 0

    def __call__(self, timeout: float, myaddr: Any = None, evq: Any = None) -> None:
        if myaddr is not None and evq is None and answer_queued(myaddr):
            self.asleep_on_a_queued_answer += 1
        self._wait(timeout, myaddr, evq)


def provoke() -> CountedWaits:
    """Every send waits for its answer to be queued; pyghmi's wait is counted (and mended on top, if installed)."""
    send = ipmi_session._io_sendto

    def send_then_await_the_answer(socket: Any, packet: Any, address: Any) -> None:
        send(socket, packet, address)
        given_up = time.monotonic() + ANSWER_WAIT_SECONDS
        while not answer_queued(address) and time.monotonic() < given_up:
            time.sleep(0.005)

    ipmi_session._io_sendto = send_then_await_the_answer
    waits = CountedWaits(inspect.unwrap(ipmi_session._io_wait))
    ipmi_session._io_wait = waits
    return waits


def main(argv: list[str]) -> None:
    mode, fencing_yaml, host, reads = argv
    waits = provoke()
    if mode == "without":
        ipmi_wakeup.install = lambda: False  # as with a pyghmi the mend does not fit
    driver = power_driver(load_fencing_config(fencing_yaml)[host])
    states = [driver.power_state().value for _ in range(int(reads))]
    print(json.dumps({"states": states, "asleep_on_a_queued_answer": waits.asleep_on_a_queued_answer}))


if __name__ == "__main__":
    main(sys.argv[1:])
