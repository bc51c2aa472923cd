"""The real `openstack` command run as an operator runs it, output read with `-f json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

OPENSTACK = str(Path(sys.executable).parent / "openstack")


class OpenStackCli:
    """`openstack [prefix...] ...` in the environment ``env``."""

    def __init__(self, env: dict[str, str], *prefix: str) -> None:
        self.env = env
        self._prefix = prefix

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([OPENSTACK, *self._prefix, *args], env=self.env, capture_output=True, text=True,
                              timeout=120, check=False)

    def json(self, *args: str) -> Any:
        done = self.run(*args, "-f", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def refused(self, *args: str) -> str:
        """Run a command that must fail, without a traceback; return its error output."""
        done = self.run(*args)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        return done.stderr.strip()


def remove_aggregate(conn: Any, name: str) -> None:
    """Remove the aggregate ``name`` (its hosts first, as Nova wants) if a command left one."""
    aggregate = conn.compute.find_aggregate(name)
    if aggregate is not None:
        for host in aggregate.hosts or ():
            conn.compute.remove_host_from_aggregate(aggregate, host)
        conn.compute.delete_aggregate(aggregate)
