"""Mends for how pyghmi (1.6.19, its newest release) keeps IPMI sessions, so that a new Command opens a new one.

pyghmi registers a session being opened under the BMC, port and credentials as given (text) and removes it
under the credentials it keeps (bytes), so the entry is never removed. A later Command with the same
credentials whose BMC no longer has a live session is handed that entry back: the process's first session
for that BMC, broken or logged out, on which every call then fails ("Session no longer connected", measured
against a BMC emulator down for 30 s: every call failed for good once it was back). ``forget_opened`` drops
such an entry before a Command is opened; ``retire`` ends a session as pyghmi does when it gives up on one
(``_mark_broken``: the BMC told with one packet, no answer awaited), so that the next Command opens a new one.
Both change nothing if a future pyghmi lacks what they use.
"""

from __future__ import annotations

import contextlib

from pyghmi import exceptions as ipmi_exceptions
from pyghmi.ipmi import command as ipmi_command
from pyghmi.ipmi.private import session as ipmi_session


def forget_opened(address: str, port: int, username: str, password: str) -> None:
    """Drop pyghmi's entry of a session being opened with these credentials unless one really is: an entry
    left behind (logged in, broken or logged out) would be handed to the next Command."""
    registry = getattr(ipmi_session.Session, "initting_sessions", None)
    if not isinstance(registry, dict):
        return
    key = (address, username, password, port, None)
    entry = registry.get(key)
    if entry is not None and not (getattr(entry, "logging", False) and not getattr(entry, "broken", True)):
        registry.pop(key, None)


def retire(command: ipmi_command.Command) -> None:
    """End the Command's session in pyghmi, and on the BMC if it still knows it."""
    session = command.ipmi_session
    with contextlib.suppress(ipmi_exceptions.IpmiException, OSError):
        getattr(session, "_mark_broken", session.logout)()
