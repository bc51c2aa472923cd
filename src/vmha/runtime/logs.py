"""Structured logs: one JSON object per line, with the ``extra`` fields the runtime attaches."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from vmha.cloud.request_ids import current

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as {"at", "level", "logger", "thread", "message", ...extra, "error"}, with the
    ``global_request_id`` the thread's OpenStack calls carry when it serves an API request or runs a step."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        document.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        carried = current()
        if carried:
            document["global_request_id"] = carried
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def configure(level: int = logging.INFO) -> None:
    """Send every log record of the process to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
