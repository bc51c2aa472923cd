"""pyghmi's lost wake-up, provoked on every request against the cloud's IPMI BMC emulator, and its mend.

Each request's send is followed by a pause until pyghmi's I/O thread has queued the BMC's answer, before the
caller waits for it: the race that happens now and then under load happens every time. A wait entered while the
answer is already queued is one that sleeps until pyghmi's retransmission timer (0.5 to 1.0 s).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import pytest
from pyghmi.ipmi.private import session as ipmi_session

from tests.cloud.layout import COMPUTE_HOSTS, Layout
from vmha.fencing import PowerState, ipmi_wakeup, load_fencing_config, power_driver

HOST = COMPUTE_HOSTS[-1]  # the fake host whose BMC speaks IPMI


ANSWER_WAIT_SECONDS = 5.0
"""How long a send waits for its answer to be queued before the caller goes on (a loaded machine's emulator)."""


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


@pytest.fixture
def late_waits(monkeypatch: pytest.MonkeyPatch) -> CountedWaits:
    """pyghmi's wait counted, every send followed by a pause until the answer has arrived and is queued."""
    send = ipmi_session._io_sendto

    def send_then_await_the_answer(socket: Any, packet: Any, address: Any) -> None:
        send(socket, packet, address)
        given_up = time.monotonic() + ANSWER_WAIT_SECONDS
        while not answer_queued(address) and time.monotonic() < given_up:
            time.sleep(0.005)

    monkeypatch.setattr(ipmi_session, "_io_sendto", send_then_await_the_answer)
    waits = CountedWaits(inspect.unwrap(ipmi_session._io_wait))  # pyghmi's own, whether or not mended already
    monkeypatch.setattr(ipmi_session, "_io_wait", waits)
    return waits


def _power_states(cloud_layout: Layout, calls: int) -> list[PowerState]:
    driver = power_driver(load_fencing_config(cloud_layout.fencing_yaml)[HOST])
    return [driver.power_state() for _ in range(calls)]


def test_without_the_mend_callers_sleep_on_answers_already_there(cloud_layout: Layout, late_waits: CountedWaits,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ipmi_wakeup, "install", lambda: False)  # as a pyghmi the mend does not fit
    assert _power_states(cloud_layout, 2) == [PowerState.ON] * 2
    assert late_waits.asleep_on_a_queued_answer >= 2


def test_with_the_mend_no_caller_sleeps_on_an_answer_already_there(cloud_layout: Layout,
                                                                   late_waits: CountedWaits) -> None:
    assert _power_states(cloud_layout, 4) == [PowerState.ON] * 4
    assert late_waits.asleep_on_a_queued_answer == 0
    assert inspect.unwrap(ipmi_session._io_wait) is late_waits  # installed around the wait it found
