"""The systemd units as shipped: they parse (systemd-analyze verify) and the gateway's is hardened
(systemd-analyze security, offline, exposure at most 2.0 of 10: "OK")."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

UNITS = Path(__file__).resolve().parents[2] / "monitors" / "systemd"
VMHA = str(Path(sys.executable).parent / "vmha")


def _installed(name: str, tmp_path: Path) -> Path:
    """The unit with ExecStart on this virtualenv's vmha (verify checks that the command exists)."""
    unit = tmp_path / name
    unit.write_text((UNITS / name).read_text().replace("/usr/bin/vmha", VMHA))
    return unit


def _analyze(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("systemd-analyze")
    assert command, "systemd-analyze (package systemd) is needed"
    return subprocess.run([command, *arguments], capture_output=True, text=True, timeout=60, check=False)


def test_the_gateway_and_monitor_units_parse(tmp_path: Path) -> None:
    for name in ("vmha-gateway.service", "vmha-monitor@.service"):
        unit = _installed(name, tmp_path)
        target = unit.with_name(name.replace("@.", "@instance.")) if "@" in name else unit
        if target != unit:
            unit.rename(target)
        verified = _analyze("verify", str(target))
        assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr


def test_the_gateway_unit_is_hardened_and_reads_its_own_settings_file(tmp_path: Path) -> None:
    unit = _installed("vmha-gateway.service", tmp_path)
    security = _analyze("security", "--offline=true", "--threshold=20", str(unit))
    assert security.returncode == 0, security.stdout[-2000:]
    assert "--settings /etc/vmha/gateway.yaml" in unit.read_text()
    assert "--config /etc/vmha/monitor.yaml" in (UNITS / "vmha-monitor@.service").read_text()
