"""Decode raw documents and check them against the schemas of ``vmha.templates``.

Every problem with the input surfaces as one ContractError naming the offending field; no jsonschema,
json or yaml exception about the input leaves this module. Every door that reads JSON from outside (the
API's bodies, the webhooks, the queues' messages) reads it through ``load_json``/``decode``: bounded in
size and depth (checked without recursion, before Python's recursive parser runs), so RecursionError,
UnicodeError and OverflowError never reach a caller. Schemas reference each other by relative URI
(``common.schema.json#/...``), resolved from the package, never from the network.
"""

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from vmha.contracts.errors import ContractError
from vmha.templates import load_schema, schema_names

Raw = bytes | str | Mapping[str, Any]
"""A message as received: JSON bytes or text, or an already decoded mapping (a queue message's body may be
any JSON value: the parsers take that too, and refuse it)."""

MAX_DOCUMENT_BYTES = 65536
"""Larger messages are refused before decoding; real ones are a few KiB at most."""
MAX_DEPTH = 32
"""Deeper JSON is refused before it is parsed: vmha's documents nest 4 levels at most, and Python's JSON
parser, schema checks and encoders recurse once per level (RecursionError near 1000)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Timestamps outside [EARLIEST, LATEST) are refused: far from any failure, and near year 9999 adding a
ceiling or a TTL to them overflows."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^][{}]+")


def load_json(raw: Any, limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """Return the JSON value ``raw`` stands for (JSON bytes or text, or an already decoded value), bounded
    in size (``limit`` bytes of text) and depth (MAX_DEPTH), with finite numbers and valid Unicode only;
    ContractError naming the problem otherwise."""
    if not isinstance(raw, str | bytes | bytearray):
        _check_value(raw)
        return raw
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(data) > limit:
        raise ContractError(f"message is larger than {limit} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeError as exc:
        raise ContractError(f"malformed JSON: not UTF-8: {exc}") from exc
    _check_text_depth(text)
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ContractError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except (ValueError, RecursionError, OverflowError) as exc:  # NaN/Infinity, over 4300 digits
        raise ContractError(f"malformed JSON: {exc}") from exc
    _check_value(document)
    return document


def decode(raw: Any, limit: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """Return ``raw`` (as ``load_json`` takes it) as a JSON object (a dict), or raise ContractError."""
    document = load_json(raw, limit)
    if not isinstance(document, Mapping):
        raise ContractError(f"expected a JSON object, got {_json_type(document)}")
    return dict(document)


def load_document(path: Path) -> Any:
    """Read an operator file: JSON if it is named ``*.json``, YAML otherwise (an empty file is ``{}``).

    OSError (missing or unreadable file) is not a contract error and propagates.
    """
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:  # ValueError includes bad UTF-8 and bad JSON
        raise ContractError(f"cannot parse {path}: {exc}") from exc
    return {} if document is None else document


def check(schema_name: str, document: Any) -> None:
    """Raise ContractError for the most relevant violation of ``<schema_name>.schema.json``, if any."""
    error = best_match(_validator(schema_name).iter_errors(document))
    if error is not None:
        raise _contract_error(error)


def parse_timestamp(text: str, path: str) -> datetime:
    """Parse a schema-valid ``timestamp`` into an aware UTC datetime (no offset means UTC)."""
    try:
        moment = datetime.fromisoformat(text)
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: an offset moves it out of years 1-9999
        raise ContractError(f"{text!r} is not a valid date-time: {exc}", path) from exc
    if not EARLIEST <= utc < LATEST:
        raise ContractError(f"{text!r} is out of range (years {EARLIEST.year} to {LATEST.year - 1})", path)
    return utc


def format_timestamp(moment: datetime) -> str:
    """Format a datetime as ISO 8601 UTC with 'T' and 'Z'; a naive datetime is taken as UTC."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_text_depth(text: str) -> None:
    """ContractError when the brackets of ``text`` (outside its strings) nest deeper than MAX_DEPTH."""
    depth = 0
    for char in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if char in "[{" else -1
        if depth > MAX_DEPTH:
            raise ContractError(f"JSON nested deeper than {MAX_DEPTH} levels")


def _check_value(document: Any) -> None:
    """ContractError for a decoded value deeper than MAX_DEPTH, with a string that is not valid Unicode (a
    lone surrogate), a number that is not finite, or a value JSON has not; walked without recursion."""
    pending = [(document, 0)]
    while pending:
        value, depth = pending.pop()  # depth: of the containers around value
        if isinstance(value, Mapping | list | tuple) and depth >= MAX_DEPTH:
            raise ContractError(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, Mapping):
            pending.extend((key, depth + 1) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list | tuple):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_unicode(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ContractError(f"{value} is not a JSON number")
        elif value is not None and not isinstance(value, bool | int | float):
            raise ContractError(f"a {type(value).__name__} is not a JSON value")


def _check_unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ContractError(f"a string is not valid Unicode: {exc.reason} at {exc.start}") from exc


@cache
def _registry() -> Registry[Any]:
    schemas = [load_schema(name) for name in schema_names()]
    return Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas)


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    schema = load_schema(schema_name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker(formats=("uuid",)))


def _contract_error(error: ValidationError) -> ContractError:
    path = [str(part) for part in error.absolute_path]
    instance: Any = error.instance
    if error.validator == "required":
        missing = [name for name in _expected(error) if name not in instance]
        return ContractError("required field is missing", "/".join([*path, missing[0]]))
    if error.validator == "additionalProperties":
        extra = sorted(set(instance) - set(_schema(error).get("properties", {})))
        return ContractError("unknown field is not allowed", "/".join([*path, extra[0]]))
    describe = _DESCRIPTIONS.get(str(error.validator))
    return ContractError(describe(error) if describe else _shorten(error.message, 200), "/".join(path))


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _value(error: ValidationError) -> str:
    return _shorten(json.dumps(error.instance, default=str))


def _expected(error: ValidationError) -> Any:
    return error.validator_value


def _schema(error: ValidationError) -> Any:
    return error.schema


def _choices(error: ValidationError) -> str:
    return ", ".join(str(value) for value in _expected(error))


def _pattern(error: ValidationError) -> str:
    title = _schema(error).get("title")
    if title:
        return f"{_value(error)} is not a valid {title}"
    return f"{_value(error)} does not match {error.validator_value}"


_DESCRIPTIONS: dict[str, Callable[[ValidationError], str]] = {
    "type": lambda e: f"expected {e.validator_value}, got {_json_type(e.instance)}",
    "enum": lambda e: f"{_value(e)} is not one of {_choices(e)}",
    "const": lambda e: f"{_value(e)} is not {e.validator_value}",
    "maxLength": lambda e: f"longer than {e.validator_value} characters",
    "minLength": lambda e: f"shorter than {e.validator_value} characters",
    "pattern": _pattern,
    "format": lambda e: f"{_value(e)} is not a valid {_schema(e).get('title', e.validator_value)}",
    "maxProperties": lambda e: f"more than {e.validator_value} fields",
    "maxItems": lambda e: f"more than {e.validator_value} items",
    "minItems": lambda e: f"fewer than {e.validator_value} items",
    "uniqueItems": lambda e: "items are not unique",
    "minimum": lambda e: f"{_value(e)} is less than {e.validator_value}",
    "maximum": lambda e: f"{_value(e)} is more than {e.validator_value}",
    "exclusiveMinimum": lambda e: f"{_value(e)} must be more than {e.validator_value}",
}
