"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .runtime_support import Place


@pytest.fixture
def place(tmp_path: Path, admin_conn: Any) -> Iterator[Place]:
    """Per-test queues and journal on the local cloud, removed after the test."""
    made = Place(tmp_path, admin_conn)
    yield made
    made.delete()
