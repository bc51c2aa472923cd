"""Decode raw documents and check them against the schemas of ``vmha.templates``.

Every problem with the input surfaces as one ContractError naming the offending field; no jsonschema,
json or yaml exception about the input leaves this module. Schemas reference each other by relative URI
(``common.schema.json#/...``), resolved from the package, never from the network.
"""

import json
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
"""A message as received: JSON bytes or text, or an already decoded mapping."""

MAX_DOCUMENT_BYTES = 65536
"""Larger messages are refused before decoding; real ones are a few KiB at most."""


def decode(raw: Raw) -> dict[str, Any]:
    """Return ``raw`` as a JSON object (a dict), or raise ContractError."""
    if isinstance(raw, Mapping):
        return dict(raw)
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ContractError(f"message is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ContractError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:  # not UTF-8, or NaN/Infinity
        raise ContractError(f"malformed JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ContractError(f"expected a JSON object, got {_json_type(document)}")
    return document


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
    except ValueError as exc:
        raise ContractError(f"{text!r} is not a valid date-time: {exc}", path) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format a datetime as ISO 8601 UTC with 'T' and 'Z'; a naive datetime is taken as UTC."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


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
