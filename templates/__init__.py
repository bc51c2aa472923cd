"""JSON Schemas of every message and file vmha reads (installed as ``vmha.templates``).

The schemas are data; this module only finds and loads them.
"""

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the schema ``templates/<name>.schema.json`` as a dict."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
