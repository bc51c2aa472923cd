"""The settings reference for operators, generated from ``settings.schema.json`` (the README embeds it)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from vmha.templates import load_schema


def settings_reference() -> str:
    """A Markdown table: every setting, its environment twin, default and description."""
    rows = ["| setting | environment | default | description |", "|---|---|---|---|"]
    for path, schema in _leaves(load_schema("settings")["properties"]):
        default = json.dumps(schema["default"]) if "default" in schema else "(required)"
        description = " ".join(schema.get("description", "").split()).replace("|", "\\|")
        rows.append(f"| `{'.'.join(path)}` | `VMHA_{'_'.join(path).upper()}` | `{default}` | {description} |")
    return "\n".join(rows) + "\n"


def _leaves(properties: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, schema in properties.items():
        if schema.get("type") == "object" and "properties" in schema:
            yield from _leaves(schema["properties"], (*prefix, name))
        else:
            yield (*prefix, name), schema
