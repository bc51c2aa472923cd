"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import Layout
from tests.runtime_steps import Effects, intake, make_table

from .api_support import Running, api_settings, serving
from .runtime_support import Place


@pytest.fixture
def place(tmp_path: Path, admin_conn: Any) -> Iterator[Place]:
    """Per-test queues and journal on the local cloud, removed after the test."""
    made = Place(tmp_path, admin_conn)
    yield made
    made.delete()


@pytest.fixture
def api(cloud_layout: Layout, place: Place, tmp_path: Path) -> Iterator[Running]:
    """A real gateway, API and consumers, running the test step table (``tests.runtime_steps``) on the place's
    queues and journal; a test module may define its own ``api``."""
    with serving(cloud_layout, api_settings(place), make_table(Effects(tmp_path / "effects")), intake) as running:
        yield running
