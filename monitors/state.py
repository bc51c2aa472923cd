"""Small JSON state files of the monitors (domain states, heartbeats), replaced atomically."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

_LOG = logging.getLogger(__name__)


def read_state(path: Path) -> Any:
    """The decoded file, or None when it is missing or unreadable (a monitor then starts afresh)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        _LOG.warning("ignoring an unreadable state file", extra={"file": str(path)})
        return None


def write_state(path: Path, data: Any) -> None:
    """Write ``data`` as JSON; readers see either the old or the new file, never a partial one."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data))
    temporary.replace(path)
