"""Which servers a failback moves back: those its host's last recovery evacuated that are still where the
recovery put them, ACTIVE, idle and unlocked; a pure decision over what was read, with the reason for each
server it leaves."""

from __future__ import annotations

from typing import Any


def skip_reason(server: Any | None, host: str, evacuated_to: str) -> str | None:
    """Why the server (None: deleted) is not moved back to ``host`` from ``evacuated_to``; None to move it."""
    if server is None:
        return "deleted since its evacuation"
    checks = ((server.compute_host == host, f"already on {host}"),
              (server.compute_host != evacuated_to, f"moved since its evacuation (now on {server.compute_host})"),
              (server.status != "ACTIVE", f"not ACTIVE ({server.status})"),
              (bool(server.task_state), f"busy (task {server.task_state})"),
              (bool(server.is_locked), "locked by someone else (vmha unlocks what it locked when the recovery ends)"))
    return next((reason for failed, reason in checks if failed), None)
