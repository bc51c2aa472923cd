"""libvirt's own error reports in a monitor process (``vmha monitor``'s main): debug log lines, never libvirt's
default line on stderr. libvirt's in-process test driver stands for a host's libvirtd."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import libvirt
import pytest

from vmha.monitors.runner import libvirt_error_to_debug


@pytest.fixture
def handler() -> Iterator[None]:
    libvirt.registerErrorHandler(libvirt_error_to_debug, None)
    yield
    libvirt.registerErrorHandler(None, None)  # libvirt's default again


def raise_libvirt_error() -> None:
    conn = libvirt.open("test:///default")
    try:
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByName("vmha-no-such-domain")
    finally:
        conn.close()


def test_libvirt_prints_its_errors_by_default(capfd: pytest.CaptureFixture[str]) -> None:
    libvirt.registerErrorHandler(None, None)  # as an earlier test's monitor main may have left it
    raise_libvirt_error()
    assert "libvirt: Test Driver error : Domain not found" in capfd.readouterr().err


@pytest.mark.usefixtures("handler")
def test_a_monitor_logs_them_at_debug_instead(capfd: pytest.CaptureFixture[str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="vmha.monitors.runner"):
        raise_libvirt_error()
    assert "Domain not found" not in capfd.readouterr().err
    assert any("Domain not found" in record.getMessage() and record.levelno == logging.DEBUG
               for record in caplog.records)
