"""What a returning host's BMC says of its power (``settings.fencing_file``, ``vmha.fencing``): on, or why not."""

from __future__ import annotations

from vmha.contracts import ContractError
from vmha.fencing import BmcError, PowerState, load_fencing_config, power_driver


def power_on(host: str, fencing_file: str) -> tuple[bool, str]:
    """Whether the host's BMC reports the power on, and what it said (or why it said nothing).

    Each BMC call is bounded by the host's ``timeout_seconds`` in the fencing file."""
    if not fencing_file:
        return False, "no fencing file is configured (settings fencing_file)"
    try:
        access = load_fencing_config(fencing_file).get(host)
    except (ContractError, OSError) as error:
        return False, f"the fencing file {fencing_file} cannot be read: {error}"
    if access is None:
        return False, f"the fencing file {fencing_file} has no BMC for {host}"
    try:
        state = power_driver(access).power_state()
    except BmcError as error:
        return False, str(error)
    said = f"{access.protocol.value} {access.address} reports the power {state.name.lower()}"
    return state is PowerState.ON, said
