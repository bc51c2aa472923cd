"""The BMC of a compute host, as the fencing file describes it (``settings.fencing_file``, ``vmha.fencing``)."""

from __future__ import annotations

from vmha.contracts import ContractError
from vmha.fencing import BmcAccess, BmcError, PowerState, load_fencing_config, power_driver
from vmha.outcomes import Fail


def bmc_of(host: str, fencing_file: str) -> BmcAccess | Fail:
    """How to reach the host's BMC, or a Fail saying why it cannot be known."""
    if not fencing_file:
        return Fail(f"fence not confirmed for {host}: no fencing file is configured (settings fencing_file)")
    try:
        hosts = load_fencing_config(fencing_file)
    except ContractError as error:
        return Fail(f"fence not confirmed for {host}: the fencing file {fencing_file} is invalid: {error}")
    except OSError as error:
        return Fail(f"fence not confirmed for {host}: cannot read the fencing file {fencing_file}: {error.strerror}")
    if host not in hosts:
        return Fail(f"fence not confirmed for {host}: the fencing file {fencing_file} has no BMC for it")
    return hosts[host]


def power_state(host: str, fencing_file: str) -> PowerState | None:
    """What the host's BMC says of its power now; None where there is no BMC to ask or it does not answer."""
    access = bmc_of(host, fencing_file)
    if isinstance(access, Fail):
        return None
    try:
        return power_driver(access).power_state()
    except BmcError:
        return None
