"""Which failures count towards dead-lettering a message, and how they are counted and described."""

from __future__ import annotations

import openstack.exceptions
import sqlalchemy.exc
from zaqarclient.transport import errors as zaqar_errors

from vmha.runtime.effects import _bounded
from vmha.runtime.poison import Failures, describe, is_outage


def test_outages_are_told_from_the_message_s_own_faults() -> None:
    down = [ConnectionRefusedError(), TimeoutError(), sqlalchemy.exc.OperationalError("select", {}, Exception()),
            openstack.exceptions.HttpException("503"), zaqar_errors.ServiceUnavailableError()]
    faults = [RecursionError(), OverflowError(), KeyError("x"), UnicodeEncodeError("utf-8", "\ud800", 0, 1, "no"),
              zaqar_errors.MalformedRequest(), sqlalchemy.exc.DataError("insert", {}, Exception())]
    assert [is_outage(error) for error in down] == [True] * len(down)
    assert [is_outage(error) for error in faults] == [False] * len(faults)
    wrapped = RuntimeError("journal")
    wrapped.__cause__ = ConnectionResetError()
    assert is_outage(wrapped)


def test_failures_are_counted_per_message_and_the_oldest_forgotten() -> None:
    failures = Failures(remembered=2)
    assert [failures.add("a"), failures.add("a"), failures.add("b"), failures.add("c")] == [1, 2, 1, 1]
    assert failures.add("a") == 1  # forgotten when c came
    failures.forget("c")
    assert failures.add("c") == 1


def test_descriptions_are_bounded_utf_8() -> None:
    assert describe(KeyError("x")) == "KeyError: 'x'"
    long = describe(ValueError("\ud800" + "y" * 5000), limit=100)
    assert len(long) <= 110 and long.endswith("...")
    long.encode("utf-8")


def test_a_dead_letter_quotes_what_zaqar_can_store() -> None:
    deep: object = 1
    for _ in range(900):
        deep = [deep]
    assert _bounded({"a": 1}) == {"a": 1}
    assert _bounded("\ud800 text") == "\\ud800 text"
    assert _bounded(deep) == {"unquoted": "JSON nested deeper than 32 levels"}
    assert _bounded({"a": "x" * 200_000})["truncated"] is True
