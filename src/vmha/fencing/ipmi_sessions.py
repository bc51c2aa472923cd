"""Mends for how pyghmi (1.6.19, its newest release) keeps IPMI sessions, so that a new Command opens a new one.

pyghmi registers a session being opened under the BMC, port and credentials as given (text) and removes it
under the credentials it keeps (bytes), so the entry is never removed. A later Command with the same
credentials whose BMC no longer has a live session is handed that entry back: the process's first session
for that BMC, broken or logged out, on which every call then fails ("Session no longer connected", measured
against a BMC emulator down for 30 s: every call failed for good once it was back). ``forget_opened`` drops
such an entry before a Command is opened; ``retire`` makes pyghmi drop a session, so that the next Command
opens a new one.
Both change nothing if a future pyghmi lacks what they use.
"""

from __future__ import annotations

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
    """Make pyghmi drop the Command's session without a word to the BMC: what pyghmi does when it gives up on a
    session (``_mark_broken``) less its logout, which first waits for the session's command in flight, for ever
    when that is a keep-alive sent to a BMC that restarted since (measured). The BMC closes the session itself
    once it is idle, if it still knows it."""
    session = command.ipmi_session
    for table, lock in (("keepalive_sessions", "KEEPALIVE_SESSIONS"), ("waiting_sessions", "WAITING_SESSIONS")):
        sessions, guard = getattr(ipmi_session.Session, table, None), getattr(ipmi_session, lock, None)
        if isinstance(sessions, dict) and guard is not None:
            with guard:
                sessions.pop(session, None)
    session.broken = True  # ``Session.__new__`` then drops it instead of handing it out again
