"""Shared fixtures. Tests under tests/integration/ are marked `integration` and get the local cloud,
started on demand (or reused when `python -m tests.cloud up` already runs it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import catalog, cloud
from tests.cloud.layout import Layout

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cloud_layout() -> Layout:
    """The running local cloud (brought up here when something is down that no test killed on purpose)."""
    layout = Layout.from_env()
    if cloud.needs_up(layout):
        cloud.up(layout)
    return layout


@pytest.fixture(scope="session")
def admin_conn(cloud_layout: Layout) -> Iterator[Any]:
    """An admin openstacksdk connection to the local cloud."""
    conn = catalog.connect(cloud_layout, "vmha-admin")
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def demo_conn(cloud_layout: Layout) -> Iterator[Any]:
    """A connection as the unprivileged `demo` user of the `demo` project."""
    conn = catalog.connect(cloud_layout, "vmha-demo")
    yield conn
    conn.close()
