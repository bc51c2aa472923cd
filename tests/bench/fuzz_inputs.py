"""Generated junk for the fuzz benchmark (``tests.bench.fuzz``): raw JSON texts (bytes) from a seeded
``random.Random``, so a run can be repeated with its seed.

Each generator starts from a well-formed document of its door (a notification, a step message, an Aodh
alarm, an execution) and breaks it: one field set to a value of the wrong type, a huge number, a deep
nesting, an invalid UTF-8 byte, a lone surrogate escape, a date out of range; the whole body replaced by
a list, a string, a number or null; the text truncated, or bytes flipped. A share stays well-formed, so
the paths behind the parsers run too. Host names are made up (``fuzz-`` prefix): never a real host.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

RAW = "\x00raw:"
"""A string value starting with this is spliced into the JSON text as is (not JSON-encoded)."""

DATES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59Z", "0001-01-01",
         "2026-13-45T25:61:61Z", "2026-02-30T00:00:00Z", "yesterday", "", "2026-12-04T10:00:00+99:00",
         "10000-01-01T00:00:00Z", "2026-12-04T10:00:00.123456789Z", "2026-12-04 10:00:00", "1e9"]
DEPTHS = [31, 32, 33, 100, 900, 999, 1000, 2000, 20000, 30000]


def nested(depth: int, rng: random.Random) -> str:
    """A JSON text nested ``depth`` deep (lists or objects), built without recursion."""
    if rng.random() < 0.5:
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def junk_value(rng: random.Random) -> Any:
    """A value to put where another was expected."""
    choices: list[Callable[[], Any]] = [
        lambda: None, lambda: True, lambda: 0, lambda: -1, lambda: 1.5, lambda: [], lambda: {},
        lambda: [1, "a", None], lambda: {"x": {"y": [1]}}, lambda: "", lambda: "x" * rng.choice([256, 5000]),
        lambda: RAW + "9" * rng.choice([20, 400, 4301, 20000]),  # huge integers
        lambda: RAW + "1e" + str(rng.choice([308, 309, 999, 99999])),
        lambda: RAW + rng.choice(["NaN", "Infinity", "-Infinity"]),
        lambda: RAW + nested(rng.choice(DEPTHS), rng),
        lambda: RAW + rng.choice(['"\\ud800"', '"\\udfff x"', '"a\\u0000b"', '"\\uDEAD\\uBEEF"']),
        lambda: rng.choice(DATES), lambda: str(uuid.uuid4()), lambda: "\u202e\u0301\U0001f4a9",
    ]
    return rng.choice(choices)()


def render(document: Any) -> bytes:
    """The JSON text of ``document``, with ``RAW`` strings spliced in as they are."""
    splices: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(RAW):
            key = f"@@splice{len(splices)}@@"
            splices[key] = value[len(RAW):]
            return key
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    text = json.dumps(mark(document))
    for key, raw in splices.items():
        text = text.replace(json.dumps(key), raw)
    return text.encode()


def mutate(document: dict[str, Any], rng: random.Random) -> Any:
    """``document`` with one field (possibly nested) broken, removed or added."""
    target = document
    while True:
        inner = [key for key, value in target.items() if isinstance(value, dict) and value]
        if not inner or rng.random() < 0.6:
            break
        target = target[rng.choice(inner)]
    roll = rng.random()
    keys = list(target)
    if roll < 0.1 and keys:
        del target[rng.choice(keys)]
    elif roll < 0.2:
        target[rng.choice(["colour", "x" * 300, "", "\ud800x"])] = junk_value(rng)
    elif keys:
        target[rng.choice(keys)] = junk_value(rng)
    return document


def whole_junk(rng: random.Random) -> bytes:
    """A body that is not a JSON object at all, or not JSON."""
    return rng.choice([
        b"", b"null", b"[]", b"[1, 2]", b'"a string"', b"42", b"true", b"{", b'{"a": }', b"\xff\xfe{}",
        b'{"a": "\xc3\x28"}', b"\xef\xbb\xbf{}", b"{}", b'{"a": NaN}', b"{" + b'"k": 1, ' * 3000 + b'"z": 0}',
        nested(rng.choice(DEPTHS), rng).encode(), b'"' + b"\\ud800" * 10 + b'"', b"9" * 5000,
    ])


def damage(text: bytes, rng: random.Random) -> bytes:
    """``text`` truncated, with bytes flipped, or with an invalid UTF-8 byte put in."""
    if not text:
        return text
    roll, at = rng.random(), rng.randrange(len(text))
    if roll < 0.4:
        return text[:at]
    if roll < 0.7:
        return text[:at] + bytes([rng.randrange(256)]) + text[at + 1:]
    return text[:at] + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"]) + text[at:]


def body(make: Callable[[random.Random], dict[str, Any]], rng: random.Random) -> bytes:
    """One input of a door whose well-formed document ``make`` builds: mostly broken, some whole."""
    roll = rng.random()
    if roll < 0.15:
        return render(make(rng))
    if roll < 0.7:
        return render(mutate(make(rng), rng))
    if roll < 0.85:
        return whole_junk(rng)
    return damage(render(make(rng)), rng)


def host(rng: random.Random) -> str:
    return f"fuzz-{rng.randrange(10**6)}"


def notification(rng: random.Random) -> dict[str, Any]:
    """A well-formed notification message (as a monitor posts it); intake ignores it (a test intake)."""
    payloads = [{"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"},
                {"event": "LIFECYCLE", "vir_domain_event": "STOPPED_FAILED", "instance_uuid": str(uuid.uuid4())},
                {"event": "STOPPED", "process_name": f"ignore:fuzz-{rng.randrange(1000)}"}]
    kind = rng.randrange(3)
    return {"id": str(uuid.uuid4()), "source": "fuzz", "type": ["COMPUTE_HOST", "VM", "PROCESS"][kind],
            "hostname": host(rng), "generated_time": datetime.now(UTC).isoformat(), "payload": payloads[kind]}


def masakari_body(host_name: str) -> Callable[[random.Random], dict[str, Any]]:
    """A well-formed ``POST /v1/notifications`` body on ``host_name`` (a made-up host of a disabled segment)."""
    def make(rng: random.Random) -> dict[str, Any]:
        fields = notification(rng)
        fields["hostname"] = host_name
        return {"notification": {key: fields[key] for key in ("type", "hostname", "generated_time", "payload")}}
    return make


def step_message(rng: random.Random) -> dict[str, Any]:
    """A well-formed step message of an unknown notification (dead-lettered as such)."""
    soon = datetime.now(UTC) + timedelta(hours=1)
    return {"notification_id": str(uuid.uuid4()), "step": "ok", "attempt": 1,
            "flow": {"steps": ["ok"], "position": 0}, "deadline": soon.isoformat(),
            "not_before": datetime.now(UTC).isoformat(), "args": {"n": 1}}


def alarm(rng: random.Random) -> dict[str, Any]:
    """An Aodh event alarm body about a server Nova does not know."""
    traits = [["instance_id", 1, str(uuid.uuid4())], ["host", 1, host(rng)]]
    event = {"message_id": str(uuid.uuid4()), "event_type": "compute.instance.power_off.end",
             "generated": datetime.now(UTC).isoformat(), "traits": traits}
    return {"alarm_id": str(uuid.uuid4()), "current": "alarm", "previous": "ok",
            "reason_data": {"type": "event", "event": event}}


def execution(rng: random.Random) -> dict[str, Any]:
    """A Qinling execution body running intake or a step synchronously."""
    event = notification(rng) if rng.random() < 0.5 else step_message(rng)
    return {"input": event if rng.random() < 0.7 else json.dumps(event), "sync": True}


def wake(rng: random.Random) -> dict[str, Any]:
    """A Zaqar subscription push body."""
    return {"body": notification(rng), "queue_name": "fuzz", "Message_Type": "Notification"}
