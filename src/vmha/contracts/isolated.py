"""``validation.check`` in a short-lived child process, for a long-lived process that must stay small.

jsonschema with what it loads (referencing, rpds, attrs, the meta-schemas of every draft) is about 6 MB of
resident memory and stays for the life of a process once imported: a tenth of the ``vmha monitor`` budget
(issue 5: 40 MB). ``check_isolated`` runs the same check in ``python -m vmha.contracts.isolated``: the
document goes to the child pickled on stdin (so YAML dates and sets reach the schema exactly as parsed), a
violation comes back as the ContractError's message and path on stdout and is raised here unchanged. When the
child cannot run at all, the check runs in this process: the outcome is the same, only the memory is not
saved.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from typing import Any

from vmha.contracts.errors import ContractError

VIOLATION = 3
"""The child's exit status when the document violates the schema (its stdout then holds message and path)."""


def check_isolated(schema_name: str, document: Any, timeout: float = 60.0) -> None:
    """``validation.check(schema_name, document)`` in a child process; raises the same ContractError."""
    try:
        child = subprocess.run([sys.executable, "-m", __name__, schema_name], input=pickle.dumps(document),
                               capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        child = None
    if child is not None and child.returncode == 0:
        return
    if child is not None and child.returncode == VIOLATION:
        error = json.loads(child.stdout)
        raise ContractError(error["message"], error["path"])
    from vmha.contracts.validation import check  # noqa: PLC0415  (the child failed: check here)

    check(schema_name, document)


def _main() -> int:
    from vmha.contracts.validation import check  # noqa: PLC0415

    try:
        check(sys.argv[1], pickle.loads(sys.stdin.buffer.read()))  # the parent's own document
    except ContractError as error:
        json.dump({"message": error.message, "path": error.path}, sys.stdout)
        return VIOLATION
    return 0


if __name__ == "__main__":
    sys.exit(_main())
