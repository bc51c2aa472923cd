"""Operator-facing output of the long-running commands (deploy, status, demo): timestamped progress lines,
progress bars, and plain output when the stream is not a terminal (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO


class Progress:
    """Prints ``HH:MM:SS.s  +elapsed  text`` lines, flushed at once so a pipe shows them live."""

    def __init__(self, stream: TextIO | None = None, start: float | None = None) -> None:
        self.stream = stream or sys.stdout
        self.start = time.monotonic() if start is None else start

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.start

    def __call__(self, text: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:10]
        self.stream.write(f"{stamp}  +{self.elapsed:6.1f}s  {text}\n")
        self.stream.flush()


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    return bool(getattr(stream, "isatty", lambda: False)())


def bar(fraction: float, width: int = 20) -> str:
    """``[########............]  40%`` for ``fraction`` 0..1 (clamped)."""
    done = min(1.0, max(0.0, fraction))
    filled = round(done * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done * 100:3.0f}%"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain text table: columns padded to their widest cell, two spaces apart."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in (headers, *rows)]
