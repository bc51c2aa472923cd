"""Each role installs only what it imports: ``vmha[client]`` on an operator's workstation (no libvirt-python,
no journal database drivers), ``vmha[monitor]`` on compute hosts, ``vmha[gateway]`` on controllers.

Checked offline, in this environment: the distributions a role's extras pull in (vmha's declared requirements
and theirs, recursively, as pip resolves them) are the only ones a subprocess may import from; a finder placed
first on ``sys.meta_path`` refuses any module of another installed distribution, as a minimal install would
lack it. The role's commands and modules must then load.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

GUARD = """
import importlib.abc, importlib.metadata as md, json, re, sys
allowed = set(json.loads(sys.argv[1]))
owners = md.packages_distributions()
def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()
class OutsideTheRole(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        dists = owners.get(name.split(".")[0])
        if dists and not any(canonical(dist) in allowed for dist in dists):
            raise ModuleNotFoundError(f"{name} (of {', '.join(dists)}) is not a dependency of the role", name=name)
        return None
sys.meta_path.insert(0, OutsideTheRole())
"""

ROLES = {
    "client": """
import pkgutil, importlib, vmha.osc
for found in pkgutil.iter_modules(vmha.osc.__path__, "vmha.osc."):
    importlib.import_module(found.name)
from openstackclient.shell import main
sys.exit(main(["vmha", "segment", "capacity", "--help"]))
""",
    "monitor": """
import pkgutil, importlib, vmha.monitors
for found in pkgutil.walk_packages(vmha.monitors.__path__, "vmha.monitors."):
    importlib.import_module(found.name)
from vmha.cli import main
sys.exit(main(["monitor", "--help"]))
""",
    "gateway": """
import pkgutil, importlib, vmha
skipped = ("vmha.monitors", "vmha.osc", "vmha.demo", "vmha.wsgi", "vmha.__main__", "vmha.journal.migrations.env")
for found in pkgutil.walk_packages(vmha.__path__, "vmha."):
    if not found.name.startswith(skipped):
        importlib.import_module(found.name)
from vmha.cli import main
for command in ("gateway", "deploy", "db", "status"):
    try:
        main([command, "--help"])
    except SystemExit as done:
        assert done.code == 0, command
""",
}
CLIENT_NEVER = {"libvirt-python", "sqlalchemy", "pymysql", "pyghmi", "sushy", "cheroot", "keystonemiddleware"}


def closure(extras: frozenset[str]) -> set[str]:
    """The installed distributions ``vmha[extras]`` requires, recursively (canonical names)."""
    found: dict[str, frozenset[str]] = {}
    todo = [("vmha", extras)]
    while todo:
        name, wanted = todo.pop()
        key = canonicalize_name(name)
        if key in found and wanted <= found[key]:
            continue
        found[key] = found.get(key, frozenset()) | wanted
        try:
            requirements = md.requires(name) or []
        except md.PackageNotFoundError:  # an optional dependency for another platform
            continue
        for text in requirements:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in wanted or {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return set(found)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_role_loads_with_only_its_own_dependencies(role: str) -> None:
    allowed = closure(frozenset({role})) | {"setuptools", "pip"}
    done = subprocess.run([sys.executable, "-c", GUARD + ROLES[role], json.dumps(sorted(allowed))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def test_an_operator_workstation_needs_no_compiler_nor_database_driver() -> None:
    assert closure(frozenset({"client"})) & CLIENT_NEVER == set()
    assert "libvirt-python" not in closure(frozenset({"gateway"}))
