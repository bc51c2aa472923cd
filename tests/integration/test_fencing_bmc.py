"""Power drivers against the fake hosts' real BMC emulators (Redfish: sushy-tools; IPMI: pyghmi's BMC)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bmc_support import own_bmc
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from vmha.fencing import BmcAccess, BmcAuthError, BmcError, PowerState, load_fencing_config, power_driver

PYGHMI_GIVES_UP_SECONDS = 30
"""pyghmi 1.6.19 gives up on a session about 27 s after a call on it went unanswered (measured)."""
SLOW_LOGIN_SECONDS = 10
"""The drivers' default timeout. A call that test_a_silent_ipmi_bmc_is_an_error_after_the_timeout abandoned keeps
a thread in pyghmi's event loop that takes answers meant for other sessions: each round trip of a new session's
login may then wait for its retransmission timer (a login took over 5 s in CI)."""


@pytest.fixture(scope="module")
def bmcs(cloud_layout: Layout) -> dict[str, BmcAccess]:
    return load_fencing_config(cloud_layout.fencing_yaml)


@pytest.fixture(params=["compute2", COMPUTE_HOSTS[-1]], ids=["redfish", "ipmi"])
def access(request: pytest.FixtureRequest, bmcs: dict[str, BmcAccess]) -> Iterator[BmcAccess]:
    chosen = bmcs[request.param]
    yield chosen
    power_driver(chosen).power_on()  # leave the fake host powered, whatever the test did


def test_power_off_is_confirmed_and_idempotent(access: BmcAccess) -> None:
    driver = power_driver(access)
    assert driver.power_state() is PowerState.ON
    driver.power_off()
    assert driver.power_state() is PowerState.OFF
    driver.power_off()  # fencing an already fenced host is harmless
    assert driver.power_state() is PowerState.OFF
    driver.power_on()
    assert driver.power_state() is PowerState.ON


def test_wrong_password_is_refused_without_leaking_it(access: BmcAccess) -> None:
    wrong = dataclasses.replace(access, password="not-the-password")
    with pytest.raises(BmcAuthError) as raised:
        power_driver(wrong).power_off()
    assert access.host in str(raised.value)
    assert "not-the-password" not in str(raised.value)
    assert power_driver(access).power_state() is PowerState.ON


def test_unreachable_redfish_bmc_is_a_clear_error(bmcs: dict[str, BmcAccess]) -> None:
    closed = dataclasses.replace(bmcs["compute1"], address="http://127.0.0.1:9", timeout_seconds=2)
    with pytest.raises(BmcError, match="BMC of compute1") as raised:
        power_driver(closed).power_state()
    assert not isinstance(raised.value, BmcAuthError)


def test_a_silent_ipmi_bmc_is_an_error_after_the_timeout(bmcs: dict[str, BmcAccess]) -> None:
    """pyghmi alone can wait forever for a BMC that never answers (some drop unknown user names silently)."""
    silent = dataclasses.replace(bmcs[COMPUTE_HOSTS[-1]], port=9, timeout_seconds=2)
    with pytest.raises(BmcError, match="no answer within 2 s") as raised:
        power_driver(silent).power_state()
    assert not isinstance(raised.value, BmcAuthError)



def test_an_ipmi_bmc_back_after_an_outage_is_reached_again(cloud_layout: Layout, tmp_path: Path) -> None:
    """Once pyghmi gave up on the session of a BMC that stopped answering, it used to hand that broken session to
    every later call: the BMC, back, was out of reach until the process restarted."""
    with own_bmc(cloud_layout, "ipmi-outage", tmp_path / "bmc") as bmc:
        access = bmc.ipmi(timeout_seconds=SLOW_LOGIN_SECONDS)
        assert power_driver(access).power_state() is PowerState.ON
        bmc.stop()
        with pytest.raises(BmcError, match=f"no answer within {SLOW_LOGIN_SECONDS} s"):
            power_driver(access).power_state()
        time.sleep(PYGHMI_GIVES_UP_SECONDS)  # the abandoned call's thread goes on until pyghmi gives up
        bmc.start()
        assert power_driver(access).power_state() is PowerState.ON
