"""Power drivers speaking to BMCs: Redfish through sushy, IPMI 2.0 (lanplus) through pyghmi.

A driver is cheap to build per fencing attempt. Every failure becomes ``BmcError`` with a message that names
the host and BMC and never includes a secret.
"""

from __future__ import annotations

import enum
import threading
from typing import ClassVar
from typing import Protocol as TypingProtocol

import sushy
from pyghmi import exceptions as ipmi_exceptions
from pyghmi.ipmi import command as ipmi_command

from vmha.fencing.config import BmcAccess, Protocol


class PowerState(enum.Enum):
    ON = "on"
    OFF = "off"


class BmcError(Exception):
    """The BMC could not be reached, refused the credentials, or did not do what was asked."""


class PowerDriver(TypingProtocol):
    def power_state(self) -> PowerState: ...

    def power_off(self) -> None:
        """Cut the power at once (no graceful shutdown: a fenced host must stop writing now)."""

    def power_on(self) -> None: ...


class RedfishPower:
    """A Redfish ComputerSystem: the configured ``system_id``, or the BMC's only system."""

    def __init__(self, access: BmcAccess) -> None:
        self._access = access

    def _system(self) -> sushy.resources.system.system.System:
        access = self._access
        try:
            root = sushy.Sushy(f"{access.address.rstrip('/')}/redfish/v1", username=access.username,
                               password=access.password, verify=access.verify_tls, server_side_retries=1,
                               server_side_retries_delay=1, read_timeout=access.timeout_seconds,
                               connect_timeout=access.timeout_seconds)
            systems = root.get_system_collection()
            if access.system_id:
                return root.get_system(f"{systems.path.rstrip('/')}/{access.system_id}")
            members = systems.get_members()
        except sushy.exceptions.SushyError as error:
            raise _bmc_error(access, error) from error
        if len(members) != 1:
            raise BmcError(f"{_name(access)} manages {len(members)} systems: set system_id")
        return members[0]

    def power_state(self) -> PowerState:
        system = self._system()
        return PowerState.OFF if system.power_state == sushy.PowerState.OFF else PowerState.ON

    def power_off(self) -> None:
        self._reset(sushy.ResetType.FORCE_OFF)

    def power_on(self) -> None:
        self._reset(sushy.ResetType.ON)

    def _reset(self, reset: sushy.ResetType) -> None:
        system = self._system()
        try:
            system.reset_system(reset)
        except sushy.exceptions.SushyError as error:
            raise _bmc_error(self._access, error) from error


class IpmiPower:
    """Chassis power over IPMI 2.0 lanplus.

    pyghmi keeps one session per BMC and user in the process and blocks when a second Command is opened
    beside a live one, so the Command is shared by every driver with the same BMC and credentials.
    """

    _commands: ClassVar[dict[tuple[str, int, str, str], ipmi_command.Command]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, access: BmcAccess) -> None:
        self._access = access

    def _command(self) -> ipmi_command.Command:
        access = self._access
        key = self._key()
        with self._lock:
            if key not in self._commands:
                try:
                    self._commands[key] = ipmi_command.Command(bmc=access.address, userid=access.username,
                                                               password=access.password, port=access.port)
                except (ipmi_exceptions.IpmiException, OSError) as error:
                    raise _bmc_error(access, error) from error
            return self._commands[key]

    def _key(self) -> tuple[str, int, str, str]:
        access = self._access
        return (access.address, access.port, access.username, access.password)

    def power_state(self) -> PowerState:
        return PowerState.OFF if self._call("get_power")["powerstate"] == "off" else PowerState.ON

    def power_off(self) -> None:
        self._call("set_power", "off")

    def power_on(self) -> None:
        self._call("set_power", "on")

    def _call(self, method: str, *args: str) -> dict[str, str]:
        command = self._command()
        try:
            result: dict[str, str] = getattr(command, method)(*args)
        except (ipmi_exceptions.IpmiException, OSError) as error:
            with self._lock:  # a broken session must not be reused
                self._commands.pop(self._key(), None)
            raise _bmc_error(self._access, error) from error
        return result


def power_driver(access: BmcAccess) -> PowerDriver:
    return RedfishPower(access) if access.protocol is Protocol.REDFISH else IpmiPower(access)


def _name(access: BmcAccess) -> str:
    return f"BMC of {access.host} ({access.protocol.value} {access.address})"


def _bmc_error(access: BmcAccess, error: Exception) -> BmcError:
    text = str(error).replace(access.password, "***") if access.password else str(error)
    return BmcError(f"{_name(access)}: {text}")
