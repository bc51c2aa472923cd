"""Power drivers speaking to BMCs: Redfish through sushy, IPMI 2.0 (lanplus) through pyghmi.

A driver is cheap to build per fencing attempt. Every failure becomes ``BmcError`` with a message that names
the host and BMC and never includes a secret; ``BmcAuthError`` when the BMC refused the credentials, which no
retry can fix. Every IPMI call is bounded by the access's timeout: pyghmi can wait forever for a BMC that
never answers (a BMC that silently drops an unknown user name, for one).
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass
from typing import ClassVar
from typing import Protocol as TypingProtocol

import sushy
from pyghmi.ipmi import command as ipmi_command

from vmha.fencing import ipmi_sessions, ipmi_wakeup
from vmha.fencing.config import BmcAccess, Protocol


class PowerState(enum.Enum):
    ON = "on"
    OFF = "off"


class BmcError(Exception):
    """The BMC could not be reached, refused the credentials, or did not do what was asked."""


class BmcAuthError(BmcError):
    """The BMC refused the user name or password: retrying cannot help."""


SESSION_REUSE_SECONDS = 10.0
"""An IPMI session whose BMC last answered on it longer ago than this is replaced before a call. A BMC closes a
session left idle (60 s in IPMI 2.0) and forgets every session when it restarts, and pyghmi, which looks after
its sessions only while a call waits, keeps none alive in between: a call on a session kept from an earlier
fencing would wait out its whole timeout, and pyghmi would hand the same dead session to the next attempt."""

# pyghmi's session errors that mean the credentials were refused (IPMI 2.0 RAKP status codes and its own check).
_IPMI_REFUSALS = ("Incorrect password", "Unauthorized name", "Unauthorized role", "Invalid integrity check value")


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


@dataclass
class _KeptSession:
    """An open IPMI session (a pyghmi Command) and when its BMC last answered on it (``time.monotonic()``)."""

    command: ipmi_command.Command
    answered_at: float


class IpmiPower:
    """Chassis power over IPMI 2.0 lanplus.

    pyghmi keeps one session per BMC and user in the process and blocks when a second Command is opened
    beside a live one, so the Command is shared by every driver with the same BMC and credentials, and
    opened under that BMC's own lock. A session is used again only while its BMC answered on it within
    ``SESSION_REUSE_SECONDS`` (the calls of one fencing); an older one is ended and a new one opened.
    Each call runs in a daemon thread and is abandoned after the timeout: a call stuck in pyghmi then
    holds only its own BMC's lock. pyghmi's lost wake-up is mended first (``ipmi_wakeup``).
    """

    _sessions: ClassVar[dict[tuple[str, int, str, str], _KeptSession]] = {}
    _locks: ClassVar[dict[tuple[str, int, str, str], threading.Lock]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, access: BmcAccess) -> None:
        self._access = access
        self._key = (access.address, access.port, access.username, access.password)

    def power_state(self) -> PowerState:
        return PowerState.OFF if self._call("get_power")["powerstate"] == "off" else PowerState.ON

    def power_off(self) -> None:
        self._call("set_power", "off")

    def power_on(self) -> None:
        self._call("set_power", "on")

    def _call(self, method: str, *args: str) -> dict[str, str]:
        box: list[dict[str, str] | Exception] = []

        def work() -> None:
            try:
                kept = self._session()
                box.append(getattr(kept.command, method)(*args))
                kept.answered_at = time.monotonic()
            except Exception as error:  # pyghmi's own faults too: the caller gets a BmcError naming them
                box.append(error)

        worker = threading.Thread(target=work, name=f"ipmi-{self._access.host}", daemon=True)
        worker.start()
        worker.join(self._access.timeout_seconds)
        result = box[0] if box else TimeoutError(f"no answer within {self._access.timeout_seconds:g} s")
        if isinstance(result, Exception):
            with self._guard:  # a broken session must not be reused
                self._sessions.pop(self._key, None)
            raise _bmc_error(self._access, result) from result
        return result

    def _session(self) -> _KeptSession:
        """The BMC's session answered on lately, else a new one (the old one ended first)."""
        access = self._access
        ipmi_wakeup.install()
        with self._guard:
            lock = self._locks.setdefault(self._key, threading.Lock())
        with lock:
            kept = self._sessions.get(self._key)
            if kept is not None and time.monotonic() - kept.answered_at <= SESSION_REUSE_SECONDS:
                return kept
            if kept is not None:
                ipmi_sessions.retire(kept.command)
            ipmi_sessions.forget_opened(access.address, access.port, access.username, access.password)
            command = ipmi_command.Command(bmc=access.address, userid=access.username,
                                           password=access.password, port=access.port)
            kept = _KeptSession(command, time.monotonic())
            with self._guard:
                self._sessions[self._key] = kept
            return kept


def power_driver(access: BmcAccess) -> PowerDriver:
    return RedfishPower(access) if access.protocol is Protocol.REDFISH else IpmiPower(access)


def _name(access: BmcAccess) -> str:
    return f"BMC of {access.host} ({access.protocol.value} {access.address})"


def _bmc_error(access: BmcAccess, error: Exception) -> BmcError:
    text = str(error) if str(error) not in ("", "None") else f"no answer ({type(error).__name__})"
    text = text.replace(access.password, "***") if access.password else text
    refused = isinstance(error, sushy.exceptions.AccessError) or any(word in text for word in _IPMI_REFUSALS)
    return (BmcAuthError if refused else BmcError)(f"{_name(access)}: {text}")
