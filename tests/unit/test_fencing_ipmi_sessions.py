"""pyghmi's entries of sessions being opened, as ``vmha.fencing.ipmi_sessions.forget_opened`` leaves them.

Stand-in sessions in pyghmi's own table: a session being opened at the very moment of a call cannot be produced
on demand with a real BMC (tests/integration/test_fencing_bmc.py shows the left-over entry against one).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pyghmi.ipmi.private import session as ipmi_session

from vmha.fencing.ipmi_sessions import forget_opened

KEY = ("127.0.0.1", "admin", "secret", 623, None)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[object, object]:
    table: dict[object, object] = {}
    monkeypatch.setattr(ipmi_session.Session, "initting_sessions", table)
    return table


@pytest.mark.parametrize(("logging", "broken"), [(False, False), (False, True), (True, True)],
                         ids=["logged-in or out", "broken", "broken while opening"])
def test_an_entry_left_behind_is_dropped(registry: dict[object, object], logging: bool, broken: bool) -> None:
    registry[KEY] = SimpleNamespace(logging=logging, broken=broken)
    forget_opened("127.0.0.1", 623, "admin", "secret")
    assert KEY not in registry


def test_a_session_being_opened_and_other_credentials_are_kept(registry: dict[object, object]) -> None:
    opening, other = SimpleNamespace(logging=True, broken=False), SimpleNamespace(logging=False, broken=True)
    registry[KEY] = opening
    registry[("127.0.0.1", "admin", "other", 623, None)] = other
    forget_opened("127.0.0.1", 623, "admin", "secret")
    assert registry == {KEY: opening, ("127.0.0.1", "admin", "other", 623, None): other}
