"""The one bounded JSON decoder of every door: junk of every kind is a ContractError, never another error."""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.bench import fuzz_inputs
from vmha.contracts import ContractError, parse_notification, parse_step_message
from vmha.contracts.validation import MAX_DEPTH, decode, load_json, parse_timestamp


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("text", "words"), [
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
    ("[" * 60_000, f"nested deeper than {MAX_DEPTH} levels"),
    ('{"a":' * 5000 + "1" + "}" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
    (b'{"a": "\xff"}', "not UTF-8"),
    ('"\\ud800"', "not valid Unicode"),
    ("1e999", "inf is not a JSON number"),
    ("NaN", "NaN is not JSON"),
    ("9" * 5000, "4300 digits"),
    ('{"a": ', "malformed JSON at line 1 column 7"),
    ("x" * 70_000, "larger than 65536 bytes"),
])
def test_junk_text_is_a_contract_error(text: str | bytes, words: str) -> None:
    with pytest.raises(ContractError, match=words):
        load_json(text)


def test_depth_is_counted_outside_strings_and_up_to_the_limit() -> None:
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(deepest) is not None
    brackets = {"text": "[[[{{{" * 1000}
    assert load_json(json.dumps(brackets)) == brackets
    assert load_json(json.dumps(nested(MAX_DEPTH))) == decode(nested(MAX_DEPTH))


@pytest.mark.parametrize(("value", "words"), [
    (nested(MAX_DEPTH + 1), "nested deeper"),
    (nested(900), "nested deeper"),
    ({"a": "\udcff"}, "not valid Unicode"),
    ({"a": float("inf")}, "not a JSON number"),
    ({"a": object()}, "not a JSON value"),
    ([1, 2], "expected a JSON object, got array"),
    (None, "expected a JSON object, got null"),
    (3.5, "expected a JSON object, got number"),
])
def test_decoded_junk_is_a_contract_error(value: Any, words: str) -> None:
    with pytest.raises(ContractError, match=words):
        decode(value)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                                  "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z"])
def test_dates_out_of_range_are_contract_errors(text: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_timestamp(text, "generated_time")
    assert caught.value.path == "generated_time"


def test_dates_in_range_parse() -> None:
    assert parse_timestamp("8999-12-31T23:59:59Z", "x") == datetime(8999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_timestamp("1970-01-01T01:00:00+01:00", "x") == datetime(1970, 1, 1, tzinfo=UTC)


def test_a_far_future_notification_is_refused() -> None:
    document = {"id": str(uuid.uuid4()), "source": "test", "type": "PROCESS", "hostname": "h",
                "generated_time": "9999-12-31T23:59:59Z", "payload": {"event": "STOPPED", "process_name": "p"}}
    with pytest.raises(ContractError, match="out of range"):
        parse_notification(document)


@pytest.mark.parametrize("seed", range(3))
def test_generated_junk_never_raises_anything_but_contract_errors(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        for make, parse in ((fuzz_inputs.notification, parse_notification),
                            (fuzz_inputs.step_message, parse_step_message)):
            data = fuzz_inputs.body(make, rng)
            for raw in (data, data.decode("utf-8", "replace")):
                with contextlib.suppress(ContractError):
                    parse(raw)
