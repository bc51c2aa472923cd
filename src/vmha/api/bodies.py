"""The bodies of Masakari's segment and host writes, checked as Masakari checks them, as typed fields.

The field rules are the schemas ``templates/masakari_segment`` and ``masakari_host``; here: which fields a
create needs (a segment's name, recovery_method and service_type; a host's name, type and
control_attributes), that an update names at least one, that a segment's ``enabled`` needs microversion
1.2, and Masakari's boolean words (``"True"``, ``"yes"``, ``"0"``...) turned into booleans. Every problem is
an ApiError 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, cast

from vmha.api import versions
from vmha.api.web import ApiError
from vmha.contracts import ContractError
from vmha.contracts.validation import check

_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})
SEGMENT_REQUIRED = ("name", "recovery_method", "service_type")
HOST_REQUIRED = ("name", "type", "control_attributes")
ENABLED_SINCE = (1, 2)


class SegmentFields(TypedDict, total=False):
    """The fields a segment request sets (an update: only those it names)."""

    name: str
    description: str | None
    recovery_method: str
    service_type: str
    enabled: bool


class HostFields(TypedDict, total=False):
    """The fields a host request sets (an update: only those it names)."""

    name: str
    type: str | None
    control_attributes: str | None
    reserved: bool
    on_maintenance: bool


def invalid_input(error: ContractError, whole: str) -> ApiError:
    """Masakari's 400 for a body that breaks its schema; ``whole`` names the body when no field is to blame."""
    return ApiError(400, f"Invalid input for field/attribute {error.path or whole}: {error.message}")


def segment_fields(body: Mapping[str, Any], version: versions.Version, creating: bool) -> SegmentFields:
    """The fields of ``{"segment": {...}}``; ApiError 400."""
    fields = _fields("masakari_segment", "segment", body, SEGMENT_REQUIRED if creating else ())
    if "enabled" in fields and version < ENABLED_SINCE:
        raise ApiError(400, "Invalid input for field/attribute segment: Additional properties are not allowed "
                            "('enabled' was unexpected; it needs microversion 1.2)")
    if "enabled" in fields:
        fields["enabled"] = boolean(fields["enabled"])
    return cast(SegmentFields, fields)  # the schema checked every field's type


def host_fields(body: Mapping[str, Any], creating: bool) -> HostFields:
    """The fields of ``{"host": {...}}``; ApiError 400."""
    fields = _fields("masakari_host", "host", body, HOST_REQUIRED if creating else ())
    for flag in ("reserved", "on_maintenance"):
        if flag in fields:
            fields[flag] = boolean(fields[flag])
    return cast(HostFields, fields)  # the schema checked every field's type


def boolean(value: object) -> bool:
    """A schema-checked boolean: JSON true/false or one of Masakari's words for them."""
    if isinstance(value, bool):
        return value
    word = str(value).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _fields(schema: str, kind: str, body: Mapping[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    try:
        check(schema, body)
    except ContractError as error:
        raise invalid_input(error, kind) from error
    fields: dict[str, Any] = dict(body[kind])
    missing = [name for name in required if name not in fields]
    if missing:
        raise ApiError(400, f"Invalid input for field/attribute {kind}: '{missing[0]}' is a required property")
    if not fields:
        raise ApiError(400, f"Invalid input for field/attribute {kind}: name at least one field to change")
    return fields
