"""The process list (``process_list.schema.json``) parsed into values, exact liveness checks, and commands.

A process is matched exactly, never by a substring of ``ps`` output: by its pid file (that pid exists and
is not a zombie), by its whole argument vector in ``/proc/PID/cmdline``, or by ``systemctl is-active``.
``is_alive`` returns None when it cannot tell (no systemctl): the monitor then neither restarts nor
reports, since a false PROCESS notification would take the host's nova-compute out of service.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmha.contracts.validation import check, load_document

_LOG = logging.getLogger(__name__)
PROC = Path("/proc")
Argv = tuple[str, ...]
# systemctl is-active: 0 active, 3 inactive or failed, 4 no such unit; anything else means it could not ask.
_SYSTEMCTL_ANSWERS = {0: True, 3: False, 4: False}


@dataclass(frozen=True)
class PidFile:
    path: Path


@dataclass(frozen=True)
class Cmdline:
    argv: Argv


@dataclass(frozen=True)
class SystemdUnit:
    unit: str


Match = PidFile | Cmdline | SystemdUnit


@dataclass(frozen=True)
class Commands:
    """A command and its hooks; the attempt fails as soon as one of them fails."""

    pre: Argv | None
    main: Argv | None
    post: Argv | None

    def sequence(self) -> list[Argv]:
        return [argv for argv in (self.pre, self.main, self.post) if argv is not None]


@dataclass(frozen=True)
class ProcessSpec:
    """One entry of the process list."""

    name: str
    match: Match
    start: Commands
    restart: Commands
    restart_retries: int
    restart_interval_seconds: float


def load_process_list(path: Path) -> tuple[ProcessSpec, ...]:
    """Read and validate a process list file (YAML or JSON); raises ContractError or OSError."""
    return parse_process_list(load_document(path))


def parse_process_list(document: Any) -> tuple[ProcessSpec, ...]:
    """Validate a decoded process list; raises ContractError naming the offending field."""
    check("process_list", document)
    return tuple(_spec(item) for item in document["processes"])


def _spec(item: dict[str, Any]) -> ProcessSpec:
    start_main = _argv(item.get("start_command")) or _argv(item.get("restart_command"))
    restart_main = _argv(item.get("restart_command")) or _argv(item.get("start_command"))
    return ProcessSpec(
        name=item["name"],
        match=_match(item["match"]),
        start=Commands(_argv(item.get("pre_start_command")), start_main, _argv(item.get("post_start_command"))),
        restart=Commands(_argv(item.get("pre_restart_command")), restart_main,
                         _argv(item.get("post_restart_command"))),
        restart_retries=item.get("restart_retries", 3),
        restart_interval_seconds=float(item.get("restart_interval_seconds", 5)),
    )


def _match(match: dict[str, Any]) -> Match:
    if "pid_file" in match:
        return PidFile(Path(match["pid_file"]))
    if "cmdline" in match:
        return Cmdline(tuple(match["cmdline"]))
    return SystemdUnit(match["systemd_unit"])


def _argv(command: str | list[str] | None) -> Argv | None:
    if command is None:
        return None
    return tuple(shlex.split(command) if isinstance(command, str) else command)


def is_alive(match: Match, proc: Path = PROC) -> bool | None:
    """Whether the matched process runs; None when that cannot be told."""
    if isinstance(match, PidFile):
        try:
            pid = int(match.path.read_text().strip())
        except (OSError, ValueError):
            return False
        return _running(proc / str(pid))
    if isinstance(match, Cmdline):
        wanted = "\0".join(match.argv).encode()
        return any(_cmdline(entry) == wanted and _running(entry) for entry in proc.glob("[0-9]*"))
    try:
        status = subprocess.run(["systemctl", "is-active", "--quiet", match.unit], check=False,
                                stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode
    except (OSError, subprocess.TimeoutExpired) as error:
        status, detail = None, str(error)
    else:
        detail = f"systemctl exit status {status}"
    if status in _SYSTEMCTL_ANSWERS:
        return _SYSTEMCTL_ANSWERS[status]
    _LOG.error("cannot ask systemd about a unit", extra={"unit": match.unit, "error": detail})
    return None


def _cmdline(entry: Path) -> bytes:
    try:
        return (entry / "cmdline").read_bytes().rstrip(b"\0")
    except OSError:  # exited meanwhile
        return b""


def _running(entry: Path) -> bool:
    """The process exists and is not a zombie (state after the command name in /proc/PID/stat)."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def run_command(argv: Argv, timeout: float) -> bool:
    """Run a command without a shell; success is exit status 0 within ``timeout`` seconds.

    Its output goes to a file, not a pipe, so a daemon it leaves behind does not hold the monitor up.
    """
    with tempfile.TemporaryFile() as output:
        try:
            completed = subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True)
        except (OSError, subprocess.TimeoutExpired) as error:
            _LOG.warning("command failed", extra={"argv": list(argv), "error": str(error)})
            return False
        if completed.returncode != 0:
            output.seek(0)
            _LOG.warning("command failed", extra={"argv": list(argv), "status": completed.returncode,
                                                  "output": output.read()[-2000:].decode(errors="replace")})
        return completed.returncode == 0
