"""Power drivers against the fake hosts' real BMC emulators (Redfish: sushy-tools; IPMI: pyghmi's BMC)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tests.cloud.layout import COMPUTE_HOSTS, Layout
from vmha.fencing import BmcAccess, BmcAuthError, BmcError, PowerState, load_fencing_config, power_driver


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
