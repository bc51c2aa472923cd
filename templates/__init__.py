"""JSON Schemas of every message and file vmha reads (installed as ``vmha.templates``).

The schemas are data; this module only finds and loads them. ``examples/`` holds one valid document per
message kind, used by the tests and the documentation.
"""

import json
from functools import cache
from importlib import resources
from typing import Any

_SUFFIX = ".schema.json"


def schema_names() -> list[str]:
    """Names of all schemas, i.e. every ``<name>`` with a ``templates/<name>.schema.json``."""
    entries = resources.files(__name__).iterdir()
    return sorted(entry.name.removesuffix(_SUFFIX) for entry in entries if entry.name.endswith(_SUFFIX))


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the schema ``templates/<name>.schema.json`` as a dict."""
    text = resources.files(__name__).joinpath(name + _SUFFIX).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_example(name: str) -> dict[str, Any]:
    """Return a fresh copy of the example ``templates/examples/<name>.json``."""
    text = resources.files(__name__).joinpath("examples", f"{name}.json").read_text(encoding="utf-8")
    example: dict[str, Any] = json.loads(text)
    return example
